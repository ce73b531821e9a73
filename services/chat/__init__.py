"""The chat service: accounts and tokens, rooms, membership, messages, and every WebSocket."""
