package containersim

import (
	"context"
	"fmt"
)

func cmdImageLoad(e *env, p *parsed) error {
	in := p.str("input", "")
	if in == "" {
		return failf("loading from stdin is not supported: pass --input <archive>")
	}
	s, err := e.imageStore()
	if err != nil {
		return err
	}
	imgs, err := s.Load(context.Background(), in)
	if err != nil {
		return failf("failed to load image archive %s: %v", in, err)
	}
	for _, img := range imgs {
		fmt.Fprintln(e.stdout, img.Reference)
	}
	return nil
}
