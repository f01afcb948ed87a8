package containerdriver

import "io"

// crCollapser passes terminal output through, turning a run of carriage
// returns before a line feed into one. Why: a TTY exec's output can cross
// two output-processing stages (the container's terminal and the CLI's)
// when a line is written before the CLI has switched one of them off,
// giving "\r\r\n" for "\n". On a terminal both render the same; Nomad's
// clients (and tests) get the canonical "\r\n". Carriage returns not
// followed by a line feed are kept; a run at the end of one write is held
// until the next write (or Flush) decides.
type crCollapser struct {
	w   io.Writer
	crs int // held carriage returns
	buf []byte
}

func (c *crCollapser) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		switch b {
		case '\r':
			c.crs++
			continue
		case '\n':
			if c.crs > 0 {
				c.buf = append(c.buf, '\r')
			}
		default:
			for ; c.crs > 0; c.crs-- {
				c.buf = append(c.buf, '\r')
			}
		}
		c.crs = 0
		c.buf = append(c.buf, b)
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes carriage returns still held.
func (c *crCollapser) Flush() error {
	if c.crs == 0 {
		return nil
	}
	b := make([]byte, c.crs)
	for i := range b {
		b[i] = '\r'
	}
	c.crs = 0
	_, err := c.w.Write(b)
	return err
}
