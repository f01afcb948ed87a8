package containerdriver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/jobspec2"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/testenv"
)

// TestExamples_JobFilesAreValid parses every container example job as
// Nomad does, decodes each container task's config through the driver's
// schema and checks it with the driver's own validation, so the docs never
// show a broken job.
func TestExamples_JobFilesAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(t), "examples", "nomad", "container-*.nomad.hcl"))
	must.NoError(t, err)
	must.GreaterEq(t, 4, len(files))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			must.NoError(t, err)
			job, err := jobspec2.ParseWithConfig(&jobspec2.ParseConfig{Path: f, Body: body, Strict: true})
			must.NoError(t, err)
			tasks := 0
			for _, g := range job.TaskGroups {
				for _, task := range g.Tasks {
					if task.Driver != PluginName {
						continue
					}
					tasks++
					tc := decodeTaskConfig(t, task.Config)
					cfg := nomadTask(t)
					cfg.Name = task.Name
					cfg.Resources.NomadResources.Memory.MemoryMB = int64(*task.Resources.MemoryMB)
					cfg.Resources.NomadResources.Memory.MemoryMaxMB = 0
					_, err := resolve(&tc, defaultPluginConfig(), portsOf(cfg, g.Networks))
					must.NoError(t, err, must.Sprintf("task %s", task.Name))
				}
			}
			must.Positive(t, tasks)
		})
	}
}

// portsOf gives the task the group's network ports as Nomad would allocate
// them (made-up host ports).
func portsOf(cfg *drivers.TaskConfig, networks []*api.NetworkResource) *drivers.TaskConfig {
	var ports structs.AllocatedPorts
	for _, n := range networks {
		for i, p := range append(append([]api.Port{}, n.ReservedPorts...), n.DynamicPorts...) {
			value := p.Value
			if value == 0 {
				value = 20000 + i
			}
			ports = append(ports, structs.AllocatedPortMapping{Label: p.Label, Value: value, To: p.To, HostIP: "127.0.0.1"})
		}
	}
	cfg.Resources.Ports = &ports
	return cfg
}
