package containerdriver

import "github.com/hashicorp/go-msgpack/v2/codec"

// stringMap is a task option written as an HCL map (env = { K = "v" }).
// Nomad's job parser hands maps in a config block to the driver as a list
// of maps, so the schema says list(map(string)) and this type merges the
// list back into one map.
type stringMap map[string]string

// CodecEncodeSelf writes the list-of-maps form the schema expects.
func (s *stringMap) CodecEncodeSelf(enc *codec.Encoder) {
	enc.MustEncode([]map[string]string{*s})
}

// CodecDecodeSelf merges the list's maps (later keys win).
func (s *stringMap) CodecDecodeSelf(dec *codec.Decoder) {
	var ms []map[string]string
	dec.MustDecode(&ms)
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	*s = out
}
