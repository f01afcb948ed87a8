package warm

import "errors"

var (
	// ErrNoSnapshot: no usable snapshot for this spec and slot (boot cold).
	ErrNoSnapshot = errors.New("no warm snapshot")
	// ErrNotMacOS: the image is not a macOS guest; only macOS guests can
	// be suspended (tart: "You can only suspend macOS VMs").
	ErrNotMacOS = errors.New("only macOS guests can be suspended")
	// ErrBuildBusy: another build for this slot runs right now.
	ErrBuildBusy = errors.New("a warm snapshot build for this slot is already running")
	// ErrOverBudget: the snapshot alone is larger than the disk budget.
	ErrOverBudget = errors.New("warm snapshot larger than the disk budget")
	// ErrDisabled: resumes of this spec failed repeatedly; no more builds
	// until the spec (image digest, size, shares, warm-up) changes.
	ErrDisabled = errors.New("warm starts disabled for this spec after repeated resume failures")
	// ErrInvalid: bad input (slot name, options).
	ErrInvalid = errors.New("invalid warm start input")
	// ErrBuildFailed: the build VM did not boot, warm up or suspend.
	ErrBuildFailed = errors.New("warm snapshot build failed")
)
