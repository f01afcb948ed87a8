package guest

import "sync"

// forwardResizes applies every window size from resize with apply until
// done is closed or resize is closed; both transports forward a PTY's size
// changes this way (SSH window-change, host terminal of `tart exec -t`).
// A nil resize channel forwards nothing.
func forwardResizes(wg *sync.WaitGroup, done <-chan struct{}, resize <-chan WindowSize, apply func(WindowSize)) {
	if resize == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case ws, ok := <-resize:
				if !ok {
					return
				}
				apply(ws)
			}
		}
	}()
}
