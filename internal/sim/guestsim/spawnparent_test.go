package guestsim

const spawnParentCommand = "__spawn_parent"

func spawnParentMain() {}
