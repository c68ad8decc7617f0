"""The live domain's HTTP routes: streams, LL-HLS playback, WHIP/WHEP and chat."""
