export async function runSoak(_minutes: number): Promise<number> {
  throw new Error('not yet');
}
