package gitlab

import (
	"fmt"
	"strings"
)

// SettingsMarkdown renders every setting as a Markdown table: key, flag,
// default, whether a job may override it, legacy variable names, meaning.
// docs/gitlab.md embeds it (a test keeps them equal); `gitlab-tart-executor
// settings` prints it.
func SettingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| key (TOML) / flag | default | job override | legacy job variables | meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, f := range DefaultSettings().fields() {
		def := f.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		override := "`" + JobVariable(f.Key) + "` if listed in `job_overridable`"
		if f.Locked {
			override = "never (locked)"
		}
		var legacy []string
		for _, l := range f.Legacy {
			legacy = append(legacy, "`"+l.Name+"`")
		}
		leg := strings.Join(legacy, ", ")
		if leg == "" {
			leg = "—"
		}
		help := strings.ReplaceAll(f.Help, "|", "\\|")
		fmt.Fprintf(&b, "| `%s` / `--%s` | %s | %s | %s | %s |\n", f.Key, strings.ReplaceAll(f.Key, "_", "-"), def, override, leg, help)
	}
	return b.String()
}
