package driverkit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

func TestStartFailedUnwrapsRecoverable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := testlog.HCLogger(t)
	ev := eventer.NewEventer(ctx, logger)
	events, err := ev.TaskEvents(ctx)
	must.NoError(t, err)
	cfg := &drivers.TaskConfig{ID: "t1", Name: "web", AllocID: "a1"}

	rec := structs.NewRecoverableError(errors.New("no free slot"), true)
	got := StartFailed(ev, logger, cfg, fmt.Errorf("starting: %w", rec))
	var bare *structs.RecoverableError
	must.True(t, errors.As(got, &bare))
	must.Eq(t, error(bare), got) // returned by itself, not wrapped
	select {
	case e := <-events:
		must.Eq(t, "Start failed: starting: no free slot", e.Message)
	case <-time.After(10 * time.Second):
		t.Fatal("no start-failed event within 10s")
	}

	plain := errors.New("bad image")
	must.Eq(t, plain, StartFailed(ev, logger, cfg, plain))
}
