//go:build !linux

package containersim

// Leaks is Linux-only: there are no containers elsewhere.
func Leaks(appRoot string) []string { return nil }
