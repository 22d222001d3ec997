// The error every failed call rejects with: a code callers can switch on,
// the message, the function it came from and the guest's data.

export class WasmBridgeError extends Error {
  /**
   * @param {string} code one of `CODES` in protocol.js, or a guest's own code
   * @param {string} message
   * @param {{ functionName?: string, data?: unknown, callId?: number }} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'WasmBridgeError';
    this.code = code;
    this.functionName = details.functionName;
    this.data = details.data;
    this.callId = details.callId;
  }

  /** A plain object for logs, JSON and the Godot bridge. */
  toJSON() {
    const out = { code: this.code, message: this.message };
    if (this.functionName !== undefined) out.functionName = this.functionName;
    if (this.data !== undefined) out.data = this.data;
    return out;
  }
}

/** The message of anything thrown: an Error's message, else the value as text. */
export function messageOf(err) {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return `a thrown ${typeof err} that cannot be shown as text`;
  }
}
