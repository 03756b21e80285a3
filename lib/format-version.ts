/**
 * The version of the synthesized JSON contract (docs/synth-format.md), carried in every `lvsform_director` resource.
 * Readers refuse a version they do not know.
 */
export const FORMAT_VERSION = 1;
