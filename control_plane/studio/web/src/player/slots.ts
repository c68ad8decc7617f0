// Where later features plug into the player without changing it: the pre-roll ad (VAST, once
// the ads API lands) registers a ``beforePlay`` hook, and view heartbeats (the views API)
// register a ``heartbeat`` hook that is called every 5 s of playing.

export interface PlayerHooks {
  /** Runs before the first play of a video; may play something else first (a pre-roll). */
  beforePlay: ((video: HTMLVideoElement, videoId: string) => Promise<void>)[];
  /** Called every 5 s while playing, with the position and the seconds watched so far. */
  heartbeat: ((videoId: string, position: number, watchedSeconds: number) => void)[];
}

export const hooks: PlayerHooks = { beforePlay: [], heartbeat: [] };
