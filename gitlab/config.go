package gitlab

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
)

// ConfigOutput is the JSON the config stage prints (protocol a.4).
type ConfigOutput struct {
	BuildsDir         string            `json:"builds_dir"`
	CacheDir          string            `json:"cache_dir"`
	BuildsDirIsShared bool              `json:"builds_dir_is_shared"`
	Hostname          string            `json:"hostname"`
	Driver            DriverInfo        `json:"driver"`
	JobEnv            map[string]string `json:"job_env"`
	Shell             string            `json:"shell"`
}

// DriverInfo names the executor in the job log.
type DriverInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// SharedBuildsDir reports whether one host builds dir is shared by
// concurrent VMs: then the runner must put each concurrent job in its own
// path (builds_dir_is_shared).
func (s *Settings) SharedBuildsDir() bool {
	return s.HostBuildsDir != "" && s.HostBuildsDir != perJobBuilds
}

const perJobBuilds = "per-job"

// BuildsSharedEnv (job_env) tells later stages what the config stage
// declared as builds_dir_is_shared.
const BuildsSharedEnv = "TARTAN_BUILDS_DIR_IS_SHARED"

// Config prints the stage's JSON on stdout. Nothing else goes to stdout.
func (st *Stage) Config(context.Context) error {
	s := st.Settings
	sh, err := shellFor(s.Shell)
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	out := ConfigOutput{
		BuildsDir:         s.GuestBuildsDir,
		CacheDir:          s.GuestCacheDir,
		BuildsDirIsShared: s.SharedBuildsDir(),
		Hostname:          host,
		Driver:            DriverInfo{Name: DriverName, Version: Version},
		// For the later stages only (never the job's environment); no secrets.
		JobEnv: map[string]string{"TARTAN_VM": st.VM, BuildsSharedEnv: strconv.FormatBool(s.SharedBuildsDir())},
		Shell:  sh.Name,
	}
	enc := json.NewEncoder(st.Stdout)
	return enc.Encode(out)
}
