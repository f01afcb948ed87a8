package tartdriver

import "github.com/tartanhq/tartan/nomad/taskstore"

// taskStore maps task IDs to their handles.
type taskStore struct {
	*taskstore.Store[*taskHandle]
}

func newTaskStore() *taskStore { return &taskStore{taskstore.New[*taskHandle]()} }

// VMNames lists the VMs of every known task.
func (s *taskStore) VMNames() map[string]bool {
	out := map[string]bool{}
	for _, h := range s.All() {
		out[h.state.VMName] = true
	}
	return out
}
