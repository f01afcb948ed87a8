// Command runjob runs one job through a custom executor exactly as
// gitlab-runner would (package harness), printing the job log live and a
// summary of the executor processes. Used by scripts/demo-gitlab.sh.
//
//	runjob --executor bin/gitlab-tart-executor --config gitlab.toml \
//	    --image ghcr.io/cirruslabs/macos-sequoia-base:latest -- 'echo hello'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/gitlab/harness"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	executor := flag.String("executor", "bin/gitlab-tart-executor", "custom executor binary")
	config := flag.String("config", "", "settings file passed to every stage as --config")
	image := flag.String("image", "", "the job's image:")
	jobID := flag.Int64("job-id", time.Now().Unix()%100000, "job id")
	timeout := flag.Duration("timeout", 10*time.Minute, "job timeout")
	var vars, after listFlag
	flag.Var(&vars, "var", "job variable KEY=VALUE (repeatable)")
	flag.Var(&after, "after", "after_script line (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: runjob [flags] -- 'script line' ...")
		os.Exit(2)
	}
	args := func(stage string) []string {
		if *config == "" {
			return []string{stage}
		}
		return []string{stage, "--config", *config}
	}
	r := &harness.Runner{
		Executor: *executor, ConfigArgs: args("config"), PrepareArgs: args("prepare"),
		RunArgs: args("run"), CleanupArgs: args("cleanup"),
	}
	job := harness.Job{ID: *jobID, Image: *image, Script: flag.Args(), AfterScript: after, Timeout: *timeout, Log: os.Stdout, Variables: map[string]string{}}
	for _, v := range vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "--var %q: use KEY=VALUE\n", v)
			os.Exit(2)
		}
		job.Variables[k] = val
	}
	// Ctrl-C cancels the job like the UI's cancel button.
	cancel := make(chan struct{})
	job.Cancel = cancel
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { <-sigs; close(cancel) }()

	res, err := r.Run(context.Background(), job)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runjob:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Println("---- executor processes (as gitlab-runner saw them) ----")
	for _, s := range res.Stages {
		fmt.Printf("%-34s exit %-3d %8s\n", s.Stage, s.ExitCode, s.Duration.Round(time.Millisecond))
	}
	if res.RunnerLog != "" {
		fmt.Println("---- cleanup output (runner log) ----")
		fmt.Print(res.RunnerLog)
	}
	fmt.Printf("---- job %s", res.Status)
	if res.FailureReason != "" {
		fmt.Printf(" (%s, exit code %d)", res.FailureReason, res.ExitCode)
	}
	fmt.Printf(" in %s ----\n", res.Duration.Round(time.Millisecond))
	if res.Status != "success" {
		os.Exit(1)
	}
}
