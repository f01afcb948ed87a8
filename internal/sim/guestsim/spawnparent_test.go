package guestsim

import (
	"encoding/json"
	"fmt"
	"os"
)

// spawnParentCommand makes the test binary act as a `tart run`: it spawns a
// guest from the config on its stdin, says "spawned", and waits to be
// killed. Tests kill it to prove the guest dies with its parent.
const spawnParentCommand = "__spawn_parent"

func spawnParentMain() {
	var cfg Config
	if err := json.NewDecoder(os.Stdin).Decode(&cfg); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	if _, err := Spawn(cfg); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("spawned")
	select {}
}
