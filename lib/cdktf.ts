/**
 * The one door to the engine: `cdktn`, the maintained drop-in fork of cdktf (archived upstream in December 2025). It
 * exports the same names, so the swap was the module name on the lines below and nothing else in `lib/`.
 */
export { App as CdktfApp, TerraformElement, TerraformStack, LocalBackend, Token } from 'cdktn';
export type { AppConfig } from 'cdktn';
