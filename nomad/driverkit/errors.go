package driverkit

import "fmt"

// OptionMessage is the text of a configuration error: the option at fault,
// its value when there is one, and what is wrong with it and how to fix it.
func OptionMessage(option, value, reason string) string {
	if value == "" {
		return fmt.Sprintf("config option %q: %s", option, reason)
	}
	return fmt.Sprintf("config option %q = %q: %s", option, value, reason)
}
