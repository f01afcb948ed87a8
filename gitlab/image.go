package gitlab

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tartanhq/tartan/tart"
)

// ImageRefusedError: the job's image is not allowed on this runner. It is
// the job author's to fix, so it is a build failure (no prepare retries).
type ImageRefusedError struct {
	Image  string
	Reason string
}

func (e *ImageRefusedError) Error() string {
	return fmt.Sprintf("image %q is not allowed on this runner: %s", e.Image, e.Reason)
}

// ChooseImage picks the job's image (CI_JOB_IMAGE, else default_image) and
// checks it against the admin's allow-list (globs) and deny-list (regular
// expressions).
func ChooseImage(s *Settings, jobImage string) (string, error) {
	img := strings.TrimSpace(jobImage)
	if img == "" {
		img = s.DefaultImage
	}
	if img == "" {
		return "", &ImageRefusedError{Reason: "the job has no `image:` and the runner has no default_image; add `image: <tart image>` to the job"}
	}
	if len(s.AllowedImages) > 0 {
		ok := false
		for _, g := range s.AllowedImages {
			if globMatch(g, img) {
				ok = true
				break
			}
		}
		if !ok {
			return "", &ImageRefusedError{Image: img, Reason: "it matches none of allowed_images (" + strings.Join(s.AllowedImages, ", ") + ")"}
		}
	}
	denied, err := compileDenied(s.DeniedImages)
	if err != nil {
		return "", err
	}
	for i, re := range denied {
		if re.MatchString(img) {
			return "", &ImageRefusedError{Image: img, Reason: "it matches denied_images entry " + s.DeniedImages[i]}
		}
	}
	return img, nil
}

// compileDenied compiles denied_images: Python `re` syntax (the Python
// driver's --exclude-image-expr), lookaround included.
func compileDenied(exprs []string) ([]*pyRegexp, error) {
	out := make([]*pyRegexp, 0, len(exprs))
	for _, e := range exprs {
		re, err := compilePython(e)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

// globMatch matches name against a glob where `*` and `?` stay within one
// path segment and `**` crosses `/`.
func globMatch(pattern, name string) bool {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(name)
}

// registryHost returns the host[:port] of a remote image name, or "" for a
// local VM name (tart-cli.md §2: a remote name has a host and a namespace).
func registryHost(image string) string {
	i := strings.IndexByte(image, '/')
	if i <= 0 {
		return ""
	}
	host := image[:i]
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return ""
	}
	return host
}

// IsRemoteImage reports whether image names an OCI registry image.
func IsRemoteImage(image string) bool { return registryHost(image) != "" }

// RegistryCredentials picks the credentials for pulling image: the job's
// TART_REGISTRY_USERNAME/PASSWORD[/HOSTNAME] first, else GitLab's own
// CI_REGISTRY_USER/PASSWORD when the image lives in CI_REGISTRY. nil = none.
func RegistryCredentials(image string, job func(string) (string, bool)) *tart.Credentials {
	get := func(k string) string { v, _ := job(k); return v }
	if u, p := get("TART_REGISTRY_USERNAME"), get("TART_REGISTRY_PASSWORD"); u != "" && p != "" {
		host := get("TART_REGISTRY_HOSTNAME")
		if host == "" {
			host = get("TART_REGISTRY") // the Python driver's name
		}
		return &tart.Credentials{Username: u, Password: p, Hostname: host}
	}
	reg := get("CI_REGISTRY")
	u, p := get("CI_REGISTRY_USER"), get("CI_REGISTRY_PASSWORD")
	if reg != "" && u != "" && p != "" && registryHost(image) == reg {
		return &tart.Credentials{Username: u, Password: p, Hostname: reg}
	}
	return nil
}

// insecureRegistry reports whether image's registry is listed as plain HTTP.
func insecureRegistry(s *Settings, image string) bool {
	host := registryHost(image)
	if host == "" {
		return false
	}
	for _, g := range s.InsecureRegistries {
		if globMatch(g, host) {
			return true
		}
	}
	return false
}
