//go:build !linux

package containersim

func overlaySupported(dir string) bool { return false }
