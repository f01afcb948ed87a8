package cliproc

// Gate looks feature f up in a declarative gate table (the first release
// with each feature) and reports whether version have has it. known is
// false for a feature missing from the table, a programming error each
// client reports in its own terms.
func Gate[F comparable, V interface{ AtLeast(V) bool }](since map[F]V, have V, f F) (need V, known, ok bool) {
	need, known = since[f]
	if !known {
		return need, false, false
	}
	return need, true, have.AtLeast(need)
}

// CompareReleases orders two MAJOR.MINOR.PATCH releases: -1, 0 or +1.
func CompareReleases(a, b [3]int) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}
