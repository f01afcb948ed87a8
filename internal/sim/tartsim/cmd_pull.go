package tartsim

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func (h *home) ociRepoDir(rn remoteName) string {
	return filepath.Join(h.ociDir(), rn.hostDir(), filepath.FromSlash(rn.namespace))
}
func (h *home) ociTagPath(rn remoteName) string { return filepath.Join(h.ociRepoDir(rn), rn.tag) }
func (h *home) ociDigestDir(rn remoteName, digest string) *vmDir {
	return &vmDir{name: rn.withDigest(digest).String(), path: filepath.Join(h.ociRepoDir(rn), digest)}
}

// cachedDir returns the cache directory a remote name resolves to, if present.
func (h *home) cachedDir(rn remoteName) *vmDir {
	digest := rn.digest
	if digest == "" {
		target, err := os.Readlink(h.ociTagPath(rn))
		if err != nil {
			return nil
		}
		digest = filepath.Base(target)
	}
	d := h.ociDigestDir(rn, digest)
	if !d.initialized() {
		return nil
	}
	return d
}

// Texts modelled on tart's Swift-reflection errors (documented in docs/tart-sim.md).
const (
	diskFullText   = `Error Domain=NSPOSIXErrorDomain Code=28 "No space left on device"`
	networkLostMsg = "The network connection was lost."
)

func notFound404() error {
	return failf(`UnexpectedHTTPStatusCode(when: "pulling manifest", code: 404, details: "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}")`)
}

func authFailed() error {
	return failf(`AuthFailed(why: "received unexpected HTTP status code 401 while retrieving an authentication token", details: "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}")`)
}

// checkCredentials applies TART_REGISTRY_* the way EnvironmentCredentialsProvider does.
func (e *env) checkCredentials(img *image, rn remoteName) error {
	if img.Credentials == nil {
		return nil
	}
	user, pass := e.getenv("TART_REGISTRY_USERNAME"), e.getenv("TART_REGISTRY_PASSWORD")
	if host := e.getenv("TART_REGISTRY_HOSTNAME"); host != "" && host != rn.host {
		user, pass = "", ""
	}
	if user == "" || pass == "" || user != img.Credentials.Username || pass != img.Credentials.Password {
		return authFailed()
	}
	return nil
}

// cmdPull: tart pull <remote-name> (§5.10).
func cmdPull(e *env, p *parsed) error {
	name := p.args[0]
	if p.has("concurrency") && p.uint("concurrency", 4) < 1 {
		return p.cmd.usageErr("network concurrency cannot be less than 1")
	}
	if d := e.home.vm(name); d.initialized() {
		fmt.Fprintf(e.stdout, "\"%s\" is a local image, nothing to pull here!\n", name)
		return nil
	}
	rn, err := parseRemoteName(name)
	if err != nil {
		return runtimeFailf("%v", err)
	}
	fmt.Fprintf(e.stdout, "pulling %s...\n", rn)
	_, err = e.pull(rn)
	return err
}

// pull fetches rn into the cache unless present and returns its digest directory.
// Output is pull's minus the first "pulling <name>..." line (clone shares it).
func (e *env) pull(rn remoteName) (*vmDir, error) {
	imgs, err := loadCatalog(e)
	if err != nil {
		return nil, err
	}
	hostDir := filepath.Join(e.home.ociDir(), rn.hostDir())
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return nil, failf("%v", err)
	}
	lock, err := flockPath(hostDir, false)
	if err != nil {
		return nil, failf("%v", err)
	}
	if lock == nil {
		fmt.Fprintln(e.stdout, "waiting for lock...")
		if lock, err = flockPath(hostDir, true); err != nil {
			return nil, failf("%v", err)
		}
	}
	defer lock.unlock()

	fmt.Fprintln(e.stdout, "pulling manifest...")
	img := findImage(imgs, rn)
	if img == nil {
		return nil, notFound404()
	}
	if err := e.checkCredentials(img, rn); err != nil {
		return nil, err
	}
	digest := img.digest()
	dst := e.home.ociDigestDir(rn, digest)
	if dst.initialized() {
		if rn.digest != "" || e.home.cachedDir(rn) != nil && e.home.cachedDir(rn).path == dst.path {
			fmt.Fprintf(e.stdout, "%s image is already cached and linked!\n", dst.name)
			return dst, nil
		}
		fmt.Fprintf(e.stdout, "%s image is already cached! creating a symlink...\n", dst.name)
		return dst, e.home.linkTag(rn, dst)
	}
	if e.knobSet("TART_SIM_DISK_FULL") {
		return nil, failf("%s", diskFullText)
	}
	e.reclaimIfNeeded(int64(img.DiskGB)*1_000_000_000+128<<20, dst.path)

	// Download into tmp/<md5(name)> (where a real pull resumes), then move into place.
	sum := md5.Sum([]byte(rn.withDigest(digest).String()))
	te, err := e.home.newTmpDir(hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, failf("%v", err)
	}
	defer te.unlock()
	tmp := &vmDir{name: dst.name, path: te.path}
	fmt.Fprintf(e.stdout, "pulling disk (%.1f GB compressed)...\n", float64(img.DiskGB)*0.4)
	if err := e.progress(); err != nil {
		return nil, err
	}
	fmt.Fprintln(e.stdout, "pulling NVRAM...")
	if err := tmp.writeFiles(newConfig(img), img.DiskGB); err != nil {
		return nil, failf("%v", err)
	}
	if err := tmp.writeImageMeta(img.meta()); err != nil {
		return nil, failf("%v", err)
	}
	_ = os.WriteFile(filepath.Join(tmp.path, "manifest.json"), []byte(manifestJSON(img)), 0o644)
	if err := os.MkdirAll(filepath.Dir(dst.path), 0o755); err != nil {
		return nil, failf("%v", err)
	}
	_ = os.RemoveAll(dst.path)
	if err := os.Rename(tmp.path, dst.path); err != nil {
		return nil, failf("%v", err)
	}
	if rn.digest != "" {
		_ = os.WriteFile(filepath.Join(dst.path, ".explicitly-pulled"), nil, 0o644)
		return dst, nil
	}
	return dst, e.home.linkTag(rn, dst)
}

func (h *home) linkTag(rn remoteName, dst *vmDir) error {
	link := h.ociTagPath(rn)
	_ = os.Remove(link)
	if err := os.Symlink(dst.path, link); err != nil {
		return failf("%v", err)
	}
	return nil
}

func manifestJSON(img *image) string {
	return swiftJSON(object{
		{"schemaVersion", 2},
		{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
		{"annotations", object{{"org.cirruslabs.tart.uncompressed-disk-size", fmt.Sprint(int64(img.DiskGB) * 1_000_000_000)}}},
	})
}

// progress prints 0%..100% like ProgressObserver: plain lines with CI set,
// otherwise each update overwrites the previous line with ANSI escapes.
// TART_SIM_PULL_FAIL makes the transfer break at 40% five times in a row.
func (e *env) progress() error {
	step := e.knobDuration("TART_SIM_PULL_DELAY", 10*time.Millisecond)
	_, ci := e.lookup("CI")
	fail := e.knobSet("TART_SIM_PULL_FAIL")
	show := func(pct int, first bool) {
		if ci || first {
			fmt.Fprintf(e.stdout, "%d%%\n", pct)
		} else {
			fmt.Fprintf(e.stdout, "\x1b[1A\r\x1b[J%d%%\n", pct)
		}
	}
	const attempts = 5
	for attempt := 1; ; attempt++ {
		for pct := 0; pct <= 100; pct += 10 {
			show(pct, pct == 0 && attempt == 1)
			time.Sleep(step)
			if fail && pct == 40 {
				break
			}
		}
		if !fail {
			return nil
		}
		if attempt == attempts {
			return failf("%s", networkLostMsg)
		}
		fmt.Fprintf(e.stdout, "Error pulling image: \"%s\", attempting to re-try...\n", networkLostMsg)
	}
}
