// Creates key providers on demand from one set of options and keeps them for reuse, so a command
// that decrypts a whole directory opens the keyring (one scrypt run) or the KMS client only once.
import { createProvider } from './registry.js';
import type { KeyProvider, ProviderOptions } from './types.js';

export class ProviderSet {
  private readonly providers = new Map<string, KeyProvider>();

  constructor(
    private readonly options: ProviderOptions = {},
    preset: KeyProvider[] = [],
  ) {
    for (const p of preset) this.providers.set(p.id, p);
  }

  get(id: string): KeyProvider {
    let p = this.providers.get(id);
    if (!p) {
      p = createProvider(id, this.options);
      this.providers.set(id, p);
    }
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(all.map((p) => p.close?.()));
  }
}
