package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tartanhq/tartan/tart"
)

// Version is the executor's version, printed in the config stage's driver
// block (set with -ldflags "-X github.com/tartanhq/tartan/gitlab.Version=…").
var Version = "0.1.0-dev"

// DriverName appears in "Using Custom executor with driver tartan …".
const DriverName = "tartan"

// Stage carries what every stage needs.
type Stage struct {
	Settings  *Settings
	Job       *Job
	Log       *Log
	Tart      *tart.Client
	VM        string
	Stdout    io.Writer
	Stderr    io.Writer
	Overrides []Override
	// ConfigBuildsShared is builds_dir_is_shared as the config stage
	// declared it ("true", "false", "" = unknown), from job_env.
	ConfigBuildsShared string
	// Signals delivers the runner's SIGTERM (and SIGINT); run forwards
	// them to the guest.
	Signals <-chan os.Signal
	// settingsArgs are the stage's settings flags: a warm snapshot build
	// started from cleanup loads the same settings (warm.go).
	settingsArgs []string
	// resuming: the VM being connected to resumes from a warm snapshot.
	resuming bool
}

// Main runs one stage: args are the binary's arguments after its name
// (`config|prepare|run|cleanup [flags] [script stage]`). It returns the
// process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	log := NewLog(stderr)
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintln(stdout, usage)
			return 0
		}
	}
	if args[0] == "settings" {
		fmt.Fprint(stdout, SettingsMarkdown())
		return 0
	}
	if args[0] == warmBuildStage {
		return runWarmBuild(args[1:], stderr)
	}
	if args[0] == "version" || args[0] == "--version" || args[0] == "-v" {
		fmt.Fprintln(stdout, DriverName, Version)
		return 0
	}
	// The runner sends SIGTERM to the whole process group on cancel and
	// timeout, possibly right as the stage starts: catch it from the first
	// moment (the default action would kill the stage mid-step).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	stageName := args[0]
	job, jobErr := JobFromEnv(osLookup)
	fail := func(err error) int {
		log.Errorf("%v", err)
		return ExitCode(job, err)
	}
	switch stageName {
	case "config", "prepare", "run", "cleanup":
	default:
		return fail(fmt.Errorf("unknown stage %q: use config, prepare, run or cleanup\n%s", stageName, usage))
	}
	if jobErr != nil {
		return fail(jobErr)
	}
	stageArgs, notices := translateSeedFlags(stageName, args[1:])
	if file := os.Getenv(ConfigFileEnv); file != "" && !hasConfigFlag(stageArgs) {
		stageArgs = append([]string{"--config", file}, stageArgs...)
	}
	s, rest, err := LoadSettings(stageArgs)
	if err != nil {
		return fail(err)
	}
	// One line per Python-driver flag; run repeats its flags in every
	// sub-stage, so it reports them once, in the first.
	if stageName != "run" || (len(rest) == 2 && rest[1] == "prepare_script") {
		for _, n := range notices {
			log.Printf("%s", n)
		}
	}
	log.Mask(s.Secrets()...)
	if tok, ok := job.Var("CI_JOB_TOKEN"); ok {
		log.Mask(tok)
	}
	st := &Stage{Settings: s, Job: job, Log: log, VM: VMName(job), Stdout: stdout, Stderr: stderr, ConfigBuildsShared: os.Getenv(BuildsSharedEnv), settingsArgs: stageArgs}
	overrides, err := s.ApplyJobOverrides(job.Var)
	st.Overrides = overrides
	switch {
	case err != nil && (stageName == "config" || stageName == "cleanup"):
		// The job's mistake is reported by prepare, as a build failure
		// that GitLab does not retry (a config failure would count as a
		// system failure); config and cleanup go on with the admin's
		// settings, so cleanup still removes whatever exists.
		if s, _, err = LoadSettings(stageArgs); err != nil {
			return fail(err)
		}
		st.Settings, st.Overrides = s, nil
	case err != nil:
		return fail(&BuildError{Err: err})
	}
	log.Mask(s.Secrets()...)
	// tart gets a stable TMPDIR: the runner's per-job one is deleted after
	// cleanup while `tart run` outlives the stage that started it.
	tartTmp := filepath.Join(s.StateDir, "tmp")
	if err := ensureSharedDir(tartTmp); err != nil {
		return fail(err)
	}
	st.Tart, err = tart.New(tart.Options{Binary: s.TartBinary, Home: s.TartHome, NoAutoPrune: !s.AutoPrune, Env: []string{"CI=1", "TMPDIR=" + tartTmp}})
	if err != nil {
		return fail(err)
	}

	// Stages other than run stop their current step and leave; run
	// forwards the signal to the guest (run.go).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if stageName != "run" {
		go func() {
			select {
			case sig := <-sigs:
				log.Printf("Received %s: stopping %s", signalName(sig), stageName)
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	st.Signals = sigs

	switch stageName {
	case "config":
		err = st.Config(ctx)
	case "prepare":
		err = st.Prepare(ctx)
	case "run":
		if len(rest) != 2 {
			return fail(fmt.Errorf("run needs <script path> <stage name> after its flags, got %q", rest))
		}
		err = st.Run(ctx, rest[0], rest[1])
	case "cleanup":
		err = st.Cleanup(ctx)
	}
	if err != nil {
		var be *BuildError
		if !errors.As(err, &be) || be.Err != nil {
			log.Errorf("%v", err)
		}
	}
	return ExitCode(job, err)
}

// ConfigFileEnv names the settings file used when a stage has no --config
// flag: the runner's own environment (never a job's), so that a
// config.toml written for another executor needs no new arguments.
const ConfigFileEnv = "TARTAN_GITLAB_CONFIG"

func hasConfigFlag(args []string) bool {
	for _, a := range args {
		if n := strings.TrimLeft(a, "-"); n == "config" || strings.HasPrefix(n, "config=") {
			return true
		}
	}
	return false
}

const usage = `usage: gitlab-tart-executor <config|prepare|run|cleanup> [--config FILE] [--<setting> VALUE ...] [run: <script> <stage>]
       gitlab-tart-executor version | settings
The flags of the Python gitlab-runner-tart-driver (-x, --auto-resources, --builds-dir, --volume...)
are accepted too: each is mapped to its Tartan setting with a notice in the job log.
Without --config, the file named by $TARTAN_GITLAB_CONFIG (runner environment) is read.
Stages are started by gitlab-runner's custom executor ([runners.custom] in config.toml).
Every setting is a TOML key in --config FILE and a flag (--pull-policy always);
` + "`gitlab-tart-executor settings`" + ` lists them with defaults. Docs: docs/gitlab.md.`

// logOverrides reports in the job log what each job variable did.
func (st *Stage) logOverrides() {
	for _, o := range st.Overrides {
		if o.Applied {
			st.Log.Printf("Job variable %s sets %s=%s", o.Variable, o.Key, o.Value)
		} else {
			st.Log.Warnf("Job variable %s ignored: %s is %s", o.Variable, o.Key, o.Reason)
		}
	}
}
