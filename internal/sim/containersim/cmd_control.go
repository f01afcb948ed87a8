package containersim

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// targets resolves the IDs of stop/kill/delete: explicit IDs (deduplicated)
// or --all.
func (e *env) targets(p *parsed, allFilter func(*container) bool) ([]string, error) {
	ids := dedupe(p.args)
	if p.flag("all") {
		if len(ids) > 0 {
			return nil, failf("explicitly supplied container IDs conflict with the --all flag")
		}
		all, err := e.loadAll()
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if allFilter(c) {
				ids = append(ids, c.ID)
			}
		}
		return ids, nil
	}
	if len(ids) == 0 {
		return nil, failf("no containers specified and --all not supplied")
	}
	return ids, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// forEach runs fn for every ID concurrently, prints each successful ID on
// stdout as it completes and aggregates the failures (one per line).
func (e *env) forEach(ids []string, fn func(id string) (skip bool, err error)) error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs = make([]string, len(ids))
	)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			skip, err := fn(id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = err.Error()
				return
			}
			if !skip {
				fmt.Fprintln(e.stdout, id)
			}
		}()
	}
	wg.Wait()
	var lines []string
	for _, m := range errs {
		if m != "" {
			lines = append(lines, m)
		}
	}
	if len(lines) > 0 {
		return failf("%s", strings.Join(lines, "\n"))
	}
	return nil
}

// unknownIgnored: before 0.10.0 stop/kill/delete skipped unknown IDs.
func (e *env) unknownIgnored() bool { return !e.ver.atLeast(0, 10) }

func cmdStop(e *env, p *parsed) error {
	sigFlag := p.str("signal", "")
	sig := 0
	if sigFlag != "" {
		n, ok := e.parseSignalFor(sigFlag)
		if !ok {
			if e.ver.pre1() {
				return invalidSignal(sigFlag)
			}
			return failf("%s", aggregateCause("stop", czDescRaw(codeInvalidArg, "invalid signal: "+sigFlag)))
		}
		sig = n
	}
	timeout := int(p.int("time", 5))
	ids, err := e.targets(p, func(*container) bool { return true })
	if err != nil {
		return err
	}
	return e.forEach(ids, func(id string) (bool, error) {
		c, err := e.load(id)
		if err != nil {
			if e.unknownIgnored() {
				return true, nil
			}
			return false, &failure{aggregateCause("stop", notFoundCause(id))}
		}
		if !c.Alive {
			return false, nil // idempotent
		}
		s := sig
		if s == 0 {
			s = int(unix.SIGTERM)
			if n, ok := parseSignal(c.Config.StopSignal); ok && c.Config.StopSignal != "" && !e.ver.pre1() {
				s = n
			}
		}
		if err := sendControl(c.Bundle, controlRequest{Op: "stop", Signal: s, Timeout: timeout}); err != nil && err != errRuntimeGone {
			return false, &failure{aggregateCause("stop", czDescRaw(codeInternal, err.Error()))}
		}
		return false, nil
	})
}

func cmdKill(e *env, p *parsed) error {
	sigFlag := p.str("signal", "KILL")
	sig, ok := e.parseSignalFor(sigFlag)
	if !ok {
		if e.ver.pre1() {
			return invalidSignal(sigFlag)
		}
		return failf("%s", aggregateCause("kill", czDescRaw(codeInvalidArg, "invalid signal: "+sigFlag)))
	}
	ids, err := e.targets(p, func(c *container) bool { return c.State() == stateRunning })
	if err != nil {
		return err
	}
	return e.forEach(ids, func(id string) (bool, error) {
		c, err := e.load(id)
		if err != nil {
			if e.unknownIgnored() {
				return true, nil
			}
			return false, &failure{aggregateCause("kill", notFoundCause(id))}
		}
		if !c.Alive || c.Status.State == stateBooting {
			if e.unknownIgnored() {
				return true, nil
			}
			return false, &failure{aggregateCause("kill", czDescRaw(codeInvalidState, "no runtime client exists: container is stopped"))}
		}
		if err := sendControl(c.Bundle, controlRequest{Op: "kill", Signal: sig}); err != nil && err != errRuntimeGone {
			return false, &failure{aggregateCause("kill", czDescRaw(codeInternal, err.Error()))}
		}
		return false, nil
	})
}

func cmdDelete(e *env, p *parsed) error {
	force := p.flag("force")
	ids, err := e.targets(p, func(c *container) bool { return force || !c.Alive })
	if err != nil {
		return err
	}
	return e.forEach(ids, func(id string) (bool, error) {
		c, err := e.load(id)
		if err != nil {
			if e.unknownIgnored() {
				return true, nil
			}
			return false, &failure{aggregateCause("delete", notFoundCause(id))}
		}
		if c.Alive {
			if !force || c.Status.State == stateStopping {
				return false, &failure{aggregateCause("delete", czDescRaw(codeInvalidState, "container "+id+" is running and can not be deleted"))}
			}
			_ = sendControl(c.Bundle, controlRequest{Op: "stop", Signal: int(unix.SIGKILL), Timeout: 5})
		}
		if err := e.removeContainer(c); err != nil {
			return false, &failure{aggregateCause("delete", czDescRaw(codeInternal, err.Error()))}
		}
		return false, nil
	})
}

// removeContainer deletes a stopped container's bundle and everything it
// held (runc state, netns, address).
func (e *env) removeContainer(c *container) error {
	unlock, err := e.globalLock()
	if err != nil {
		return err
	}
	defer unlock()
	if runtimeAlive(c.Bundle) {
		return fmt.Errorf("container %s is running and can not be deleted", c.ID)
	}
	e.reapCrashed(c)
	if err := os.RemoveAll(c.Bundle); err != nil {
		return fmt.Errorf("remove %s: %w", c.Bundle, err)
	}
	return nil
}

func cmdPrune(e *env, p *parsed) error {
	all, err := e.loadAll()
	if err != nil {
		return err
	}
	var reclaimed int64
	var ids []string
	for _, c := range all {
		if c.Alive {
			continue
		}
		size := dirSize(c.Bundle)
		if err := e.removeContainer(c); err == nil {
			reclaimed += size
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintln(e.stdout, id)
	}
	fmt.Fprintf(e.stderr, "Reclaimed %s in disk space\n", humanBytes(reclaimed))
	return nil
}

func dirSize(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// humanBytes formats like ByteCountFormatter (decimal units).
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
