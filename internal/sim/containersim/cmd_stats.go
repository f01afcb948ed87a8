package containersim

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// statsSample is ContainerStats; nil fields are unavailable and omitted.
type statsSample struct {
	ID                                  string
	MemoryUsage, MemoryLimit, CPUUsec   *uint64
	NetRx, NetTx, BlockRead, BlockWrite *uint64
	NumProcesses                        *uint64
}

func (e *env) statsJSON(s statsSample) jobj {
	o := jobj{{"id", s.ID}}
	add := func(k string, v *uint64) {
		if v != nil {
			o = append(o, jkv{k, *v})
		}
	}
	add("memoryUsageBytes", s.MemoryUsage)
	add("memoryLimitBytes", s.MemoryLimit)
	add("cpuUsageUsec", s.CPUUsec)
	add("networkRxBytes", s.NetRx)
	add("networkTxBytes", s.NetTx)
	add("blockReadBytes", s.BlockRead)
	add("blockWriteBytes", s.BlockWrite)
	add("numProcesses", s.NumProcesses)
	return o
}

func (e *env) statsInterval() time.Duration {
	if d := e.knobDuration("CONTAINER_SIM_STATS_INTERVAL"); d > 0 {
		return d
	}
	return 2 * time.Second
}

func cmdStats(e *env, p *parsed) error {
	var targets []*container
	if len(p.args) == 0 {
		all, err := e.loadAll()
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.State() == stateRunning {
				targets = append(targets, c)
			}
		}
	} else {
		for _, id := range dedupe(p.args) {
			c, err := e.load(id)
			if err != nil {
				return failf("no such container: %s", id)
			}
			if c.State() == stateRunning {
				targets = append(targets, c)
			}
		}
	}
	format := p.str("format", "table")
	oneShot := p.flag("no-stream") || format != "table"
	if format == "yaml" || format == "toml" {
		return failf("container-sim: --format %s is not simulated (use json or table)", format)
	}
	sample := func() ([]statsSample, error) {
		var out []statsSample
		for _, c := range targets {
			if e.knobSet("CONTAINER_SIM_STATS_FAIL") {
				return nil, failf("%s", czDescRaw(codeInternal, "failed to get statistics for container "+c.ID)+
					` (cause: "`+czDescRaw(codeInterrupted, "vminitd connection lost (CONTAINER_SIM_STATS_FAIL)")+`")`)
			}
			e.refresh(c)
			if c.State() != stateRunning {
				continue
			}
			out = append(out, e.readStats(c))
		}
		return out, nil
	}
	if oneShot {
		if _, err := sample(); err != nil {
			return err
		}
		time.Sleep(e.statsInterval()) // the CLI's two samples are 2 s apart
		s, err := sample()
		if err != nil {
			return err
		}
		if format == "json" {
			out := []any{}
			for _, x := range s {
				out = append(out, e.statsJSON(x))
			}
			fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
			return nil
		}
		fmt.Fprint(e.stdout, e.statsTable(s, nil))
		return nil
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	prev, err := sample()
	if err != nil {
		return err
	}
	for {
		select {
		case <-sigs:
			return nil
		case <-time.After(e.statsInterval()):
		}
		cur, err := sample()
		if err != nil {
			return err
		}
		fmt.Fprint(e.stdout, e.statsTable(cur, prev))
		prev = cur
	}
}

func (e *env) statsTable(cur, prev []statsSample) string {
	rows := [][]string{{"Container ID", "Cpu %", "Memory Usage", "Net Rx/Tx", "Block I/O", "Pids"}}
	for _, s := range cur {
		cpu := "--"
		for _, p := range prev {
			if p.ID == s.ID && p.CPUUsec != nil && s.CPUUsec != nil {
				cpu = fmt.Sprintf("%.2f%%", float64(*s.CPUUsec-*p.CPUUsec)/e.statsInterval().Seconds()/1e6*100)
			}
		}
		rows = append(rows, []string{s.ID, cpu, sizeOrDash(s.MemoryUsage) + " / " + sizeOrDash(s.MemoryLimit),
			sizeOrDash(s.NetRx) + " / " + sizeOrDash(s.NetTx), sizeOrDash(s.BlockRead) + " / " + sizeOrDash(s.BlockWrite),
			numOrDash(s.NumProcesses)})
	}
	return renderTable(rows)
}

func sizeOrDash(v *uint64) string {
	if v == nil {
		return "--"
	}
	f := float64(*v)
	switch {
	case f >= 1<<30:
		return fmt.Sprintf("%.2f GiB", f/(1<<30))
	case f >= 1<<20:
		return fmt.Sprintf("%.2f MiB", f/(1<<20))
	}
	return fmt.Sprintf("%.2f KiB", f/(1<<10))
}

func numOrDash(v *uint64) string {
	if v == nil {
		return "--"
	}
	return fmt.Sprint(*v)
}
