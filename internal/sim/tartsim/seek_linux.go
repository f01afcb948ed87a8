package tartsim

// lseek whence values for sparse-file copies.
const (
	seekDataWhence = 3 // SEEK_DATA
	seekHoleWhence = 4 // SEEK_HOLE
)
