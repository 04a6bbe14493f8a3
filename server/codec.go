package server

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// strictJSON is the JSON codec of the API. Connect's default discards unknown fields and unknown enum
// names, so a typo ("stauts") or a bad enum value ("SNO_STATUS_HAPPY") would be silently ignored and the
// call would run with defaults. We refuse them with InvalidArgument instead, as Google's JSON APIs do: a
// client can then trust that every field it sent was understood.
type strictJSON struct{ name string }

func (c strictJSON) Name() string { return c.name }

func (c strictJSON) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", m)
	}
	// Every field is present in responses, with its zero value when unset ({"pairs": []} rather than {}):
	// curl and JavaScript users read fields without guarding against their absence.
	return protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(pm)
}

func (c strictJSON) Unmarshal(b []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", m)
	}
	if len(b) == 0 {
		return errors.New("empty body is not a JSON object")
	}
	return protojson.UnmarshalOptions{}.Unmarshal(b, pm)
}

func jsonCodecs() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithCodec(strictJSON{"json"}),
		connect.WithCodec(strictJSON{"json; charset=utf-8"}),
	}
}
