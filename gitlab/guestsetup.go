package gitlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tartanhq/tartan/guest"
)

// setupGuest runs the one-time guest steps of prepare: shares at their exact
// paths, time zone, gitlab-runner, keychain.
func (st *Stage) setupGuest(ctx context.Context, tr guest.Transport, guestOS string, mounts []Mount, runnerBin string) error {
	s, log := st.Settings, st.Log
	if script := mountScript(guestOS, mounts); script != "" {
		if out, err := runScript(ctx, tr, script); err != nil {
			return fmt.Errorf("mounting host directories in the guest: %w%s", err, out)
		}
		for _, m := range mounts {
			ro := ""
			if m.ReadOnly {
				ro = " (read-only)"
			}
			log.Printf("Host dir %s -> guest %s%s", m.Host, m.Guest, ro)
		}
	}
	if s.Timezone != "" {
		tz := s.Timezone
		if tz == "auto" {
			tz = hostTimezone()
		}
		if tz != "" {
			if out, err := runScript(ctx, tr, timezoneScript(tz)); err != nil {
				log.Warnf("Could not set the guest time zone to %s: %v%s", tz, err, out)
			} else {
				log.Printf("Guest time zone: %s", tz)
			}
		}
	}
	if err := st.guestRunner(ctx, tr, guestOS, runnerBin); err != nil {
		return err
	}
	if s.KeychainUnlock {
		if err := st.unlockKeychain(ctx, tr, guestOS); err != nil {
			log.Warnf("Could not unlock the login keychain: %v", err)
		} else {
			log.Printf("Unlocked the guest login keychain")
		}
	}
	return nil
}

// runScript runs a small sh script; a non-zero exit is an error carrying
// the script's output. A lost transport is ErrGuestLost.
func runScript(ctx context.Context, tr guest.Transport, script string) (string, error) {
	var out bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := tr.Run(cctx, guest.Command{Shell: "/bin/sh", Script: script, Stdout: &out, Stderr: &out})
	if err != nil {
		if errors.Is(err, guest.ErrConnectionLost) {
			return "", fmt.Errorf("%w: %v", ErrGuestLost, err)
		}
		return "", err
	}
	if res.ExitCode != 0 {
		o := strings.TrimSpace(out.String())
		if o != "" {
			o = ":\n" + o
		}
		return o, fmt.Errorf("exit code %d", res.ExitCode)
	}
	return "", nil
}

func timezoneScript(tz string) string {
	q := shellQuote(tz)
	return `SUDO=; [ "$(id -u)" = 0 ] || SUDO='sudo -n'
if [ "$(uname -s)" = Darwin ]; then $SUDO systemsetup -settimezone ` + q + ` >/dev/null
elif command -v timedatectl >/dev/null 2>&1; then $SUDO timedatectl set-timezone ` + q + `
else $SUDO ln -sf /usr/share/zoneinfo/` + q + ` /etc/localtime; fi
`
}

// hostTimezone is the host's zone name from TZ or the /etc/localtime link.
func hostTimezone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	target, err := os.Readlink("/etc/localtime")
	if err != nil {
		return ""
	}
	if i := strings.Index(target, "zoneinfo/"); i >= 0 {
		return target[i+len("zoneinfo/"):]
	}
	return ""
}

// guestRunnerVersion is the gitlab-runner version wanted in the guest.
func (st *Stage) guestRunnerVersion() string {
	v := st.Settings.GuestRunnerVersion
	if v == "" {
		v = st.Job.RunnerVersion
	}
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	// CI_RUNNER_VERSION may carry build metadata ("17.9.0~pre.1.g1234").
	if i := strings.IndexAny(v, " ~"); i > 0 {
		v = v[:i]
	}
	return v
}

// guestRunnerBinary is the host-cached binary to share, relative to
// guest_runner_cache, or "" when nothing is to be installed.
func (st *Stage) guestRunnerBinary(guestOS string) string {
	s := st.Settings
	if s.GuestRunner != "install" {
		return ""
	}
	v := st.guestRunnerVersion()
	if v == "" {
		return ""
	}
	arch := runtime.GOARCH
	rel := filepath.Join(v, "gitlab-runner-"+guestOS+"-"+arch)
	if _, err := os.Stat(filepath.Join(s.GuestRunnerCache, rel)); err != nil {
		return ""
	}
	return rel
}

// guestRunner makes sure gitlab-runner (artifacts, caches) is in the guest
// when asked to, from the host cache shared read-only, and says clearly
// when it is missing.
func (st *Stage) guestRunner(ctx context.Context, tr guest.Transport, guestOS, bin string) error {
	s, log := st.Settings, st.Log
	if s.GuestRunner == "off" {
		return nil
	}
	want := st.guestRunnerVersion()
	have, _ := guestRunnerInstalled(ctx, tr, s.GuestRunnerPath)
	if s.GuestRunner == "check" || want == "" {
		if have == "" {
			log.Warnf("gitlab-runner is not installed in the guest: artifacts and caches will not work. Bake it into the image, or set guest_runner = \"install\" with binaries in %s", s.GuestRunnerCache)
		} else {
			log.Printf("gitlab-runner %s found in the guest", have)
		}
		return nil
	}
	if have == want && !s.GuestRunnerForce {
		log.Printf("gitlab-runner %s already in the guest", have)
		return nil
	}
	if bin == "" {
		file := "gitlab-runner-" + guestOS + "-" + runtime.GOARCH
		log.Warnf("gitlab-runner %s for %s/%s is not in the host cache (%s): artifacts and caches will not work%s. Put the binary there (download %s of version %s from GitLab's releases) and it is shared into every VM",
			want, guestOS, runtime.GOARCH, filepath.Join(s.GuestRunnerCache, want, file), haveNote(have), file, want)
		return nil
	}
	src := guestRunnerMount(s) + "/" + filepath.ToSlash(bin)
	script := `set -e
SUDO=; [ "$(id -u)" = 0 ] || SUDO='sudo -n'
$SUDO mkdir -p ` + shellQuote(filepath.Dir(s.GuestRunnerPath)) + `
$SUDO cp ` + shellQuote(src) + ` ` + shellQuote(s.GuestRunnerPath) + `.tmp
$SUDO chmod 0755 ` + shellQuote(s.GuestRunnerPath) + `.tmp
$SUDO mv -f ` + shellQuote(s.GuestRunnerPath) + `.tmp ` + shellQuote(s.GuestRunnerPath) + `
`
	t := time.Now()
	if out, err := runScript(ctx, tr, script); err != nil {
		return fmt.Errorf("installing gitlab-runner %s in the guest: %w%s", want, err, out)
	}
	log.Printf("Installed gitlab-runner %s from the host cache in %s", want, since(t))
	return nil
}

func haveNote(have string) string {
	if have == "" {
		return ""
	}
	return " with the guest's own gitlab-runner " + have
}

// guestRunnerInstalled returns the guest's gitlab-runner version ("" = none).
// It looks at guest_runner_path first, then the guest's PATH.
func guestRunnerInstalled(ctx context.Context, tr guest.Transport, installPath string) (string, error) {
	var out bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	script := "if [ -x " + shellQuote(installPath) + " ]; then exec " + shellQuote(installPath) + " --version; fi\n" +
		"PATH=/usr/local/bin:/opt/homebrew/bin:$PATH\ncommand -v gitlab-runner >/dev/null 2>&1 || exit 3\nexec gitlab-runner --version 2>/dev/null\n"
	res, err := tr.Run(cctx, guest.Command{Shell: "/bin/sh", Script: script, Stdout: &out})
	if err != nil || res.ExitCode != 0 {
		return "", err
	}
	return parseRunnerVersion(out.String()), nil
}

// parseRunnerVersion reads "Version:      17.9.0" from `gitlab-runner --version`.
func parseRunnerVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "Version" {
			return strings.TrimPrefix(strings.TrimSpace(v), "v")
		}
	}
	return ""
}

// unlockKeychain unlocks the login keychain for code signing. The password
// reaches `security` on its terminal, never on a command line.
func (st *Stage) unlockKeychain(ctx context.Context, tr guest.Transport, guestOS string) error {
	if guestOS != "darwin" {
		return errors.New("only macOS guests have a keychain")
	}
	pw := st.Settings.KeychainPassword
	if pw == "" {
		pw = st.Settings.SSHPassword
	}
	var out bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := tr.Run(cctx, guest.Command{
		Argv:   keychainUnlockArgv(),
		Stdin:  strings.NewReader(pw + "\n"),
		Stdout: &out,
		PTY:    &guest.PTY{Cols: 80, Rows: 24},
	})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("security unlock-keychain exited %d: %s", res.ExitCode, st.Log.Masked(strings.TrimSpace(out.String())))
	}
	return nil
}

// keychainUnlockArgv prompts for the password (no -p: it would be visible
// in the guest's process list).
func keychainUnlockArgv() []string {
	return []string{"/usr/bin/security", "unlock-keychain", "login.keychain"}
}
