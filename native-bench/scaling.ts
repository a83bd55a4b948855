export async function runScaling(_mode: 'quick' | 'full'): Promise<number> {
  throw new Error('not yet');
}
