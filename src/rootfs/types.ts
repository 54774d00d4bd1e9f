/** The content tree that stage 4 (rootfs) turns into ramfs / rofs / ext4 / btrfs images. */

export type TreeEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'file'; readonly path: string; readonly mode: number; readonly source: string }
  | { readonly kind: 'data'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'chardev'; readonly path: string; readonly mode: number; readonly major: number; readonly minor: number };

/** Paths are absolute guest paths ('/hello'); the writer sorts and adds missing parent directories. */
export interface ContentTree {
  readonly entries: readonly TreeEntry[];
}

export type RamfsCompression = 'none' | 'gzip' | 'lz4' | 'zstd' | 'xz';
