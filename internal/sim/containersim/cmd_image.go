package containersim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tartanhq/tartan/internal/sim/containersim/imagestore"
)

func imageCommand() *command {
	return &command{Name: "image", Aliases: []string{"i"}, Abstract: "Manage images", Subs: []*command{
		{Name: "pull", Abstract: "Pull an image", API: apiPing, Run: cmdImagePull, Args: []positional{{Name: "reference"}},
			Options: []option{optScheme, optProgress, optMaxDownload, optArch, optOS, optPlatform}},
		{Name: "list", Aliases: []string{"ls"}, Abstract: "List images", API: apiPing, Run: cmdImageList,
			Options: []option{optQuiet, {Long: "verbose", Short: 'v', Help: "Verbose output"}, optFormat}},
		{Name: "inspect", Abstract: "Display information about one or more images", API: apiPing, Run: cmdImageInspect,
			Args: []positional{{Name: "images", Variadic: true}}},
		{Name: "delete", Aliases: []string{"rm"}, Abstract: "Remove one or more images", API: apiPing, Run: cmdImageDelete,
			Options: []option{{Long: "all", Short: 'a', Help: "Remove all images"}, {Long: "force", Short: 'f', Help: "Ignore errors for images that are not found"}},
			Args:    []positional{{Name: "images", Optional: true, Variadic: true}}},
		{Name: "load", Abstract: "Load images from an OCI compatible tar archive", API: apiPing, Run: cmdImageLoad,
			Options: []option{{Long: "input", Short: 'i', Value: "input", Help: "Path to the image tar archive"}}},
	}}
}

func (e *env) pullPlatform(p *parsed) (string, error) {
	if s := p.str("platform", ""); s != "" {
		if _, err := imagestore.ParsePlatform(s); err != nil {
			return "", failf("%v", err)
		}
		return s, nil
	}
	if p.has("os") || p.has("arch") {
		return p.str("os", "linux") + "/" + p.str("arch", imagestore.HostPlatform().Architecture), nil
	}
	return e.getenv("CONTAINER_DEFAULT_PLATFORM"), nil
}

func cmdImagePull(e *env, p *parsed) error {
	plat, err := e.pullPlatform(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	_, err = e.pull(ctx, p.args[0], plat, p.str("scheme", "auto"), e.progressSink(p.str("progress", "auto")))
	return err
}

func shortDigest(d string) string {
	h := strings.TrimPrefix(d, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// imageJSON is ImageResource's 1.x shape, or the pre-1.0 {reference, fullSize, descriptor}.
func (e *env) imageJSON(img imagestore.Image) jobj {
	desc := jobj{{"digest", img.Digest}, {"mediaType", string(img.MediaType)}, {"size", img.Size}}
	if e.ver.pre1() {
		return jobj{{"reference", img.Reference}, {"fullSize", img.FullSize}, {"descriptor", desc}}
	}
	variants := []any{}
	for _, v := range img.Variants {
		plat := jobj{{"architecture", v.Platform.Architecture}, {"os", v.Platform.OS}}
		if v.Platform.Variant != "" {
			plat = append(plat, jkv{"variant", v.Platform.Variant})
		}
		variants = append(variants, jobj{{"platform", plat}, {"digest", v.Digest}, {"size", v.Size}, {"config", toTree(v.Config)}})
	}
	return jobj{
		{"id", strings.TrimPrefix(img.Digest, "sha256:")},
		{"configuration", jobj{{"name", img.Reference}, {"creationDate", isoDate(img.Created)}, {"descriptor", desc}}},
		{"variants", variants},
	}
}

func cmdImageList(e *env, p *parsed) error {
	s, err := e.imageStore()
	if err != nil {
		return err
	}
	imgs, err := s.List()
	if err != nil {
		return failf("%v", err)
	}
	format := p.str("format", "table")
	switch format {
	case "json":
		out := []any{}
		for _, img := range imgs {
			out = append(out, e.imageJSON(img))
		}
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
		return nil
	case "yaml", "toml":
		return failf("container-sim: --format %s is not simulated (use json or table)", format)
	}
	if p.flag("quiet") && p.flag("verbose") {
		return failf("cannot use flag --quiet and --verbose together")
	}
	if p.flag("quiet") {
		for _, img := range imgs {
			fmt.Fprintln(e.stdout, img.Reference)
		}
		return nil
	}
	if p.flag("verbose") {
		rows := [][]string{{"NAME", "TAG", "INDEX DIGEST", "OS", "ARCH", "VARIANT", "SIZE", "CREATED", "MANIFEST DIGEST"}}
		for _, img := range imgs {
			name, tag := imagestore.DisplayName(img.Reference)
			for _, v := range img.Variants {
				rows = append(rows, []string{name, tag, shortDigest(img.Digest), v.Platform.OS, v.Platform.Architecture,
					v.Platform.Variant, humanBytes(v.Size), isoDate(img.Created), shortDigest(v.Digest)})
			}
		}
		fmt.Fprint(e.stdout, renderTable(rows))
		return nil
	}
	rows := [][]string{{"NAME", "TAG", "DIGEST"}}
	for _, img := range imgs {
		name, tag := imagestore.DisplayName(img.Reference)
		rows = append(rows, []string{name, tag, shortDigest(img.Digest)})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}

func cmdImageInspect(e *env, p *parsed) error {
	s, err := e.imageStore()
	if err != nil {
		return err
	}
	out := []any{}
	var missing []string
	for _, ref := range p.args {
		img, err := s.Get(ref)
		if err != nil {
			missing = append(missing, ref)
			continue
		}
		out = append(out, e.imageJSON(img))
	}
	if len(missing) > 0 && !e.ver.pre1() {
		return failf("image not found: %s", joinIDs(missing))
	}
	fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.inspectStyle()))
	return nil
}

func cmdImageDelete(e *env, p *parsed) error {
	s, err := e.imageStore()
	if err != nil {
		return err
	}
	refs := p.args
	if p.flag("all") {
		imgs, err := s.List()
		if err != nil {
			return failf("%v", err)
		}
		refs = nil
		for _, img := range imgs {
			refs = append(refs, img.Reference)
		}
	} else if len(refs) == 0 {
		return failf("no images specified and --all not supplied")
	}
	var failed []string
	for _, ref := range dedupe(refs) {
		norm, nerr := imagestore.NormalizeReference(ref)
		if nerr != nil {
			failed = append(failed, ref)
			continue
		}
		if err := s.Delete(ref); err != nil {
			if errors.Is(err, imagestore.ErrNotFound) && p.flag("force") {
				continue
			}
			failed = append(failed, norm)
			continue
		}
		fmt.Fprintln(e.stdout, norm)
	}
	reclaimed, _ := s.GC()
	reclaimed += e.pruneRootfsCache(s)
	fmt.Fprintf(e.stderr, "Reclaimed %s in disk space\n", humanBytes(reclaimed))
	if len(failed) > 0 {
		sort.Strings(failed)
		return failf("failed to delete one or more images: [%s]", strings.Join(quoteAll(failed), ", "))
	}
	return nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
