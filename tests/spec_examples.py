"""Examples taken from the spec, shared by the tests."""

#: The spec's "Session File Format" example (the JSON folder's session_123.json).
SPEC_SESSION = {
    "id": "session_123",
    "title": "Strategic Planning",
    "userId": "user_001",
    "createdAt": "2024-01-15T10:00:00Z",
    "updatedAt": "2024-01-15T14:30:00Z",
    "messageCount": 24,
    "messages": [
        {
            "id": "msg_1",
            "role": "user",
            "content": "Let's plan Q1",
            "timestamp": "2024-01-15T10:01:00Z",
        }
    ],
}
