package applecontainer

import (
	"strconv"
	"time"
)

// Argument builders of the short commands (the run/create table is in
// runargs.go). Each validates what the CLI would reject.

// StopArgs builds `stop [--signal s] [--time n] <id>`. A timeout is rounded
// up to whole seconds (the CLI takes an Int32 of seconds).
func StopArgs(id string, o StopOptions) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	args := []string{"stop"}
	if o.Signal != "" {
		if err := checkSignal("StopOptions.Signal", o.Signal); err != nil {
			return nil, err
		}
		args = append(args, "--signal", o.Signal)
	}
	switch {
	case o.Timeout < 0:
		return nil, inputf("StopOptions.Timeout", "%s is negative", o.Timeout)
	case o.Timeout > 0:
		secs := int64((o.Timeout + time.Second - 1) / time.Second)
		if secs > 1<<31-1 {
			return nil, inputf("StopOptions.Timeout", "%s is too long", o.Timeout)
		}
		args = append(args, "--time", strconv.FormatInt(secs, 10))
	}
	return append(args, id), nil
}

// KillArgs builds `kill [--signal s] <id>` ("" = the CLI's default, KILL).
func KillArgs(id, signal string) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	args := []string{"kill"}
	if signal != "" {
		if err := checkSignal("signal", signal); err != nil {
			return nil, err
		}
		args = append(args, "--signal", signal)
	}
	return append(args, id), nil
}

// DeleteArgs builds `delete [--force] <id>`.
func DeleteArgs(id string, force bool) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	return append(args, id), nil
}

// ListArgs builds `list [--all] --format json`.
func ListArgs(all bool) []string {
	args := []string{"list"}
	if all {
		args = append(args, "--all")
	}
	return append(args, "--format", "json")
}

// InspectArgs builds `inspect <id>`.
func InspectArgs(id string) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	return []string{"inspect", id}, nil
}

// LogsArgs builds `logs [--follow] [-n N] [--boot] <id>`.
func LogsArgs(id string, o LogsOptions) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if o.Tail < 0 {
		return nil, inputf("LogsOptions.Tail", "%d is negative; use 0 for the whole log", o.Tail)
	}
	args := []string{"logs"}
	if o.Follow {
		args = append(args, "--follow")
	}
	if o.Tail > 0 {
		args = append(args, "-n", strconv.Itoa(o.Tail))
	}
	if o.Boot {
		args = append(args, "--boot")
	}
	return append(args, id), nil
}

// ExecArgs builds `exec [-i] [-t] [-e K=V]... [-u user] [-w dir] <id>
// <argv...>`. Options precede the ID: everything after it goes to the
// process verbatim.
func ExecArgs(id string, argv []string, o ExecOptions) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, inputf("argv", "exec needs a command to run in container %q", id)
	}
	args := []string{"exec"}
	if o.Interactive {
		args = append(args, "--interactive")
	}
	if o.TTY {
		args = append(args, "--tty")
	}
	if err := checkEnv(RunOptions{Env: o.Env}); err != nil {
		return nil, inputf("ExecOptions.Env", "%s", err.(*InputError).Msg)
	}
	for _, kv := range o.Env {
		args = append(args, "--env", kv)
	}
	if o.User != "" {
		args = append(args, "--user", o.User)
	}
	if o.Workdir != "" {
		args = append(args, "--workdir", o.Workdir)
	}
	args = append(args, id)
	return append(args, argv...), nil
}

// StatsArgs builds `stats --no-stream --format json [ids...]`.
func StatsArgs(ids ...string) ([]string, error) {
	args := []string{"stats", "--no-stream", "--format", "json"}
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, err
		}
	}
	return append(args, ids...), nil
}

// PullArgs builds `image pull [--progress none] [--platform p] [--scheme s]
// <ref>` for CLI version v (zero = newest).
func PullArgs(ref string, o PullOptions, v Version) ([]string, error) {
	if ref == "" {
		return nil, inputf("ref", "no image reference given")
	}
	if err := checkImageRef(ref); err != nil {
		return nil, err
	}
	args := []string{"image", "pull"}
	if v.IsZero() || has(v, FeatureProgressNone) {
		args = append(args, "--progress", "none")
	} else {
		args = append(args, "--disable-progress-updates")
	}
	if o.Platform != "" {
		if err := checkPlatform(RunOptions{Platform: o.Platform}); err != nil {
			return nil, err
		}
		if !v.IsZero() {
			if err := CheckFeature(v, FeaturePlatform); err != nil {
				return nil, err
			}
		}
		args = append(args, "--platform", o.Platform)
	}
	switch o.Scheme {
	case "":
	case "http", "https":
		args = append(args, "--scheme", o.Scheme)
	case "auto":
		if !v.IsZero() && v.AtLeast(Version{Major: 1, Minor: 3}) {
			return nil, inputf("PullOptions.Scheme", "\"auto\" was removed in container 1.3.0; use \"http\" or \"https\"")
		}
		args = append(args, "--scheme", o.Scheme)
	default:
		return nil, inputf("PullOptions.Scheme", "%q is invalid; use \"http\", \"https\" or \"\"", o.Scheme)
	}
	return append(args, ref), nil
}

// checkID validates a container ID argument (also keeps IDs that start
// with '-' from being read as options).
func checkID(id string) error {
	if err := ValidName(id); err != nil {
		return inputf("id", "%s", err.(*InputError).Msg)
	}
	return nil
}

// checkSignal accepts what the CLI's parser does: a name with or without
// SIG (any case), RTMIN+n/RTMAX-n, or a number.
func checkSignal(option, s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return inputf(option, "signal number %d is out of range 1..64", n)
		}
		return nil
	}
	if !signalRe.MatchString(s) {
		return inputf(option, "%q is not a signal; use a name like TERM or SIGTERM, or a number", s)
	}
	return nil
}
