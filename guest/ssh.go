package guest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH is a Transport over one SSH connection; each command is a session.
type SSH struct {
	cfg    SSHConfig
	client *ssh.Client

	lostOnce sync.Once
	lost     chan struct{} // closed when the connection died or was closed
	lostErr  error         // why, valid once lost is closed

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	wg        sync.WaitGroup
}

var _ Transport = (*SSH)(nil)

func newSSH(client *ssh.Client, cfg SSHConfig) *SSH {
	s := &SSH{cfg: cfg, client: client, lost: make(chan struct{}), closed: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := client.Wait()
		if err == nil {
			err = errors.New("connection closed by the guest")
		}
		s.markLost(err)
	}()
	if cfg.KeepAlive > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.keepAlive()
		}()
	}
	return s
}

func (s *SSH) markLost(err error) {
	s.lostOnce.Do(func() {
		s.lostErr = err
		close(s.lost)
	})
}

// keepAlive sends keepalive@openssh.com every cfg.KeepAlive. When
// KeepAliveMissed intervals pass without a reply the peer is dead: the
// connection is closed so that every running command fails with
// ErrConnectionLost within KeepAlive*(KeepAliveMissed+1).
func (s *SSH) keepAlive() {
	tick := time.NewTicker(s.cfg.KeepAlive)
	defer tick.Stop()
	replies := make(chan struct{}, 1)
	lastReply := time.Now()
	inFlight := false
	for {
		select {
		case <-s.closed:
			return
		case <-s.lost:
			return
		case <-replies:
			inFlight = false
			lastReply = time.Now()
		case <-tick.C:
			if time.Since(lastReply) > s.cfg.KeepAlive*time.Duration(s.cfg.KeepAliveMissed) {
				s.markLost(fmt.Errorf("no reply to keepalives for %s", time.Since(lastReply).Round(time.Second)))
				_ = s.client.Close()
				return
			}
			if !inFlight {
				inFlight = true
				go func() {
					// Any reply, even "request failed", proves the peer alive.
					if _, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil); err == nil {
						replies <- struct{}{}
					}
				}()
			}
		}
	}
}

// Close closes the connection; running commands fail with ErrConnectionLost.
func (s *SSH) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.markLost(ErrClosed)
		err = s.client.Close()
		s.wg.Wait()
		if errors.Is(err, io.EOF) || (err != nil && strings.Contains(err.Error(), "use of closed network connection")) {
			err = nil
		}
	})
	return err
}

// lostError wraps cause as ErrConnectionLost with the connection's reason.
func (s *SSH) lostError(cause error) error {
	select {
	case <-s.lost:
		if errors.Is(s.lostErr, ErrClosed) {
			return fmt.Errorf("%w: %w", ErrConnectionLost, ErrClosed)
		}
		return fmt.Errorf("%w: %s: %v", ErrConnectionLost, s.cfg.Addr, s.lostErr)
	default:
		return fmt.Errorf("%w: %s: %v", ErrConnectionLost, s.cfg.Addr, cause)
	}
}

func (s *SSH) newSession() (*ssh.Session, error) {
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	type opened struct {
		sess *ssh.Session
		err  error
	}
	// x/crypto can block forever opening a channel on a connection that
	// is dying (the open races the teardown), so never wait past the loss.
	ch := make(chan opened, 1)
	go func() {
		sess, err := s.client.NewSession()
		ch <- opened{sess, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, s.lostError(o.err)
		}
		return o.sess, nil
	case <-s.lost:
		// The opener may never return; a session it opened late would
		// belong to a dead connection, freed with the client. Nothing of
		// ours waits for it.
		return nil, s.lostError(errors.New("connection lost while opening a session"))
	}
}
