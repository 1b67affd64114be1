from xmtpd_e2e.client.proto import envelopes_pb2 as _envelopes_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetSyncCursorRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSyncCursorResponse(_message.Message):
    __slots__ = ("latest_sync",)
    LATEST_SYNC_FIELD_NUMBER: _ClassVar[int]
    latest_sync: _envelopes_pb2.Cursor
    def __init__(self, latest_sync: _Optional[_Union[_envelopes_pb2.Cursor, _Mapping]] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...
