// Server-sent events over fetch: EventSource cannot send the Authorization header the video
// events need, so the stream is read and split into events here. Reconnects until ``signal``
// is aborted or the handler returns true (done).

import { call, problemOf } from "./api";

export interface ServerEvent {
  event: string;
  data: string;
}

export async function listen(
  path: string,
  onEvent: (event: ServerEvent) => boolean | void,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      const response = await call(path, { headers: { Accept: "text/event-stream" }, signal });
      if (!response.ok || !response.body) throw await problemOf(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        failures = 0;
        buffer += value.replace(/\r\n/g, "\n");
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: ServerEvent = { event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event.event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          event.data = data.join("\n");
          if (onEvent(event)) {
            await reader.cancel();
            return;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      if (failures > 20) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(10000, 500 * 2 ** Math.min(failures, 5))));
  }
}
