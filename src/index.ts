// parq-ts public API: re-exported in one place.
export {};
