package tart

import "context"

// RenameArgs builds `tart rename <name> <new-name>`; both must be local names.
func RenameArgs(name, newName string) ([]string, error) {
	if err := validateLocalName("VM name", name); err != nil {
		return nil, err
	}
	if err := validateLocalName("new VM name", newName); err != nil {
		return nil, err
	}
	return []string{"rename", name, newName}, nil
}

// Rename runs `tart rename`. tart refuses an existing target (exit 64, so
// the error matches ErrUsage) and a missing source (also exit 64).
func (c *Client) Rename(ctx context.Context, name, newName string) error {
	args, err := RenameArgs(name, newName)
	if err != nil {
		return err
	}
	if err := c.require(ctx, []Feature{FeatureRename}); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}
