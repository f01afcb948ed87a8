package tartsim

// lseek whence values for sparse-file copies (darwin numbers them the other way round).
const (
	seekDataWhence = 4 // SEEK_DATA
	seekHoleWhence = 3 // SEEK_HOLE
)
