/** A model that cannot be exported, or an export that cannot be written: the message is for the user. */
export class ExportError extends Error {}
