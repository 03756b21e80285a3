/**
 * The one door to cdktf. cdktf is archived upstream; its drop-in fork `cdktn` exports the same names, so swapping
 * the engine means changing the module name on the line below and nothing else in `lib/`.
 */
export { App as CdktfApp, TerraformElement, TerraformStack, LocalBackend, Token } from 'cdktf';
export type { AppConfig } from 'cdktf';
