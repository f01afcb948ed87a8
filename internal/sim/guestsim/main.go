package guestsim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the entry point of the hidden GuestCommand: it reads the config
// from stdin, sets up the shares, serves, and obeys control messages until
// told to stop, its stdin closes (parent gone) or it gets SIGTERM/SIGINT.
// It never returns.
func Main() {
	os.Exit(guestMain())
}

func guestMain() int {
	if code, isInit := runAsInit(); isInit {
		return code
	}
	dec := json.NewDecoder(os.Stdin)
	var msg spawnMsg
	if err := dec.Decode(&msg); err != nil {
		fmt.Printf("error: guestsim: reading guest config from stdin: %v\n", err)
		return 2
	}
	cfg, err := msg.Config.withDefaults()
	if err == nil {
		if msg.Namespaced {
			cfg, err = enterGuestFS(cfg)
		} else {
			err = linkShares(cfg)
		}
	}
	var g *guest
	if err == nil {
		g, err = startGuest(cfg)
	}
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	fmt.Println("ok")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ctl := make(chan controlMsg)
	go func() {
		defer close(ctl)
		for {
			var m controlMsg
			if dec.Decode(&m) != nil {
				return
			}
			ctl <- m
		}
	}()
	for {
		select {
		case <-sigs:
			g.shutdown()
			return 0
		case m, ok := <-ctl:
			if !ok || m.Stop {
				g.shutdown()
				return 0
			}
			if err := g.fault(m.Fault); err != nil {
				fmt.Printf("error: %v\n", err)
			} else {
				fmt.Println("ok")
			}
		}
	}
}
