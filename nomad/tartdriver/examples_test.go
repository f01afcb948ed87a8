package tartdriver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/jobspec2"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/zclconf/go-cty/cty"
)

// TestExamples_JobFilesAreValid parses every example job as Nomad would,
// decodes each tart task's config through the driver's schema and checks it
// with the driver's own validation, so the docs never show a broken job.
func TestExamples_JobFilesAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(t), "examples", "nomad", "*.nomad.hcl"))
	must.NoError(t, err)
	must.Positive(t, len(files))
	spec, diags := hclspecutils.Convert(taskConfigSpec)
	must.False(t, diags.HasErrors())
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "container-") {
			continue // the Apple container driver's examples (nomad/containerdriver tests them)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			must.NoError(t, err)
			job, err := jobspec2.ParseWithConfig(&jobspec2.ParseConfig{Path: f, Body: body, AllowFS: false, Strict: true})
			must.NoError(t, err)
			tasks := 0
			for _, g := range job.TaskGroups {
				for _, task := range g.Tasks {
					if task.Driver != PluginName {
						continue
					}
					tasks++
					// As the task runner does: interpolate with the task's
					// environment (here: what the example's templates set).
					vars := map[string]cty.Value{"REGISTRY_USER": cty.StringVal("u"), "REGISTRY_TOKEN": cty.StringVal("p")}
					val, diags, errs := hclutils.ParseHclInterface(task.Config, spec, vars)
					must.SliceEmpty(t, errs)
					must.False(t, diags.HasErrors(), must.Sprint(diags))
					dtc := &drivers.TaskConfig{}
					must.NoError(t, dtc.EncodeDriverConfig(val))
					var tc TaskConfig
					must.NoError(t, dtc.DecodeDriverConfig(&tc))
					_, err := resolve(&tc, defaultPlugin())
					must.NoError(t, err, must.Sprintf("task %s", task.Name))
				}
			}
			must.Positive(t, tasks)
		})
	}
}
