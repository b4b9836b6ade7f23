;; Fused kernels for the tfjs WASM backend (SIMD, one thread). The module imports the backend's own
;; linear memory, so it reads and writes tensors in place at the byte offsets tfjs-wasm records for
;; them: no copies in or out. Compiled by scripts/build-kernels.mjs into fastKernelsBinary.ts.
;;
;; Every kernel does, per element, exactly the float32 operations (same order, no fused
;; multiply-add) of the tfjs op composition it replaces, so the results are bit-identical to it.
(module
  (import "env" "memory" (memory 0))

  ;; dst[0..d) += c · src[0..d)   (byte addresses, float32 elements)
  (func $axpy (param $dst i32) (param $src i32) (param $c f32) (param $d i32)
    (local $end i32) (local $end4 i32) (local $cv v128)
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $d) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $next4
        (br_if $done4 (i32.ge_u (local.get $dst) (local.get $end4)))
        (v128.store (local.get $dst)
          (f32x4.add (v128.load (local.get $dst)) (f32x4.mul (local.get $cv) (v128.load (local.get $src)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $next4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.add (f32.load (local.get $dst)) (f32.mul (local.get $c) (f32.load (local.get $src)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $next))))

  ;; Sparse rows times a dense table: out[i, :] = Σ_j val[i, j] · table[idx[i, j], :], for
  ;; i < n, j < k; table is rows × d. Entries with value 0 are absent (padding of rows with fewer
  ;; than k entries). Traps on an index outside 0..rows-1 (checked by the caller too).
  (func (export "sparse_lookup")
    (param $table i32) (param $rows i32) (param $d i32)
    (param $idx i32) (param $val i32) (param $n i32) (param $k i32) (param $out i32)
    (local $rowBytes i32) (local $end i32) (local $j i32) (local $t i32)
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $n) (local.get $rowBytes)))
    (local.set $end (i32.add (local.get $idx) (i32.shl (i32.mul (local.get $n) (local.get $k)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (local.set $t (i32.load (local.get $idx)))
        (if (i32.ge_u (local.get $t) (local.get $rows)) (then unreachable))
        ;; a stored zero is padding (rows with fewer entries): skip the row
        (if (f32.ne (f32.load (local.get $val)) (f32.const 0))
          (then
            (call $axpy (local.get $out)
              (i32.add (local.get $table) (i32.mul (local.get $t) (local.get $rowBytes)))
              (f32.load (local.get $val)) (local.get $d))))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $val (i32.add (local.get $val) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (if (i32.eq (local.get $j) (local.get $k))
          (then
            (local.set $j (i32.const 0))
            (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))))
        (br $next))))

  ;; The adjoint of sparse_lookup (its gradient with respect to the table): out is rows × d,
  ;; out[idx[i, j], :] += val[i, j] · dy[i, :], accumulated in the order i, j.
  (func (export "sparse_lookup_adjoint")
    (param $dy i32) (param $d i32)
    (param $idx i32) (param $val i32) (param $n i32) (param $k i32) (param $out i32) (param $rows i32)
    (local $rowBytes i32) (local $end i32) (local $j i32) (local $t i32)
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $rows) (local.get $rowBytes)))
    (local.set $end (i32.add (local.get $idx) (i32.shl (i32.mul (local.get $n) (local.get $k)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (local.set $t (i32.load (local.get $idx)))
        (if (i32.ge_u (local.get $t) (local.get $rows)) (then unreachable))
        (if (f32.ne (f32.load (local.get $val)) (f32.const 0))
          (then
            (call $axpy
              (i32.add (local.get $out) (i32.mul (local.get $t) (local.get $rowBytes)))
              (local.get $dy) (f32.load (local.get $val)) (local.get $d))))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $val (i32.add (local.get $val) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (if (i32.eq (local.get $j) (local.get $k))
          (then
            (local.set $j (i32.const 0))
            (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))))
        (br $next))))

  ;; One AdamW update of n elements, in the order of the op composition in AdamW.apply:
  ;;   m' = m·β1 + g·(1−β1);  v' = v·β2 + (g·g)·(1−β2);  den = √v' / bc2 + ε;
  ;;   p' = p·decay − (m' / den)·step          (decay = 1 − lr·λ, bc2 = √(1−β2ᵗ), step = lr/(1−β1ᵗ))
  ;; Outputs may not alias inputs.
  (func (export "adamw")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $outP i32) (param $outM i32) (param $outV i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $bc2 f32) (param $eps f32) (param $decay f32) (param $step f32)
    (local $o i32) (local $end i32) (local $end4 i32)
    (local $g4 v128) (local $m4 v128) (local $v4 v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4
      (loop $next4
        (br_if $done4 (i32.ge_u (local.get $o) (local.get $end4)))
        (local.set $g4 (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $m4
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (f32x4.splat (local.get $b1)))
            (f32x4.mul (local.get $g4) (f32x4.splat (local.get $c1)))))
        (local.set $v4
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (f32x4.splat (local.get $b2)))
            (f32x4.mul (f32x4.mul (local.get $g4) (local.get $g4)) (f32x4.splat (local.get $c2)))))
        (v128.store (i32.add (local.get $outM) (local.get $o)) (local.get $m4))
        (v128.store (i32.add (local.get $outV) (local.get $o)) (local.get $v4))
        (v128.store (i32.add (local.get $outP) (local.get $o))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $o))) (f32x4.splat (local.get $decay)))
            (f32x4.mul
              (f32x4.div (local.get $m4)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v4)) (f32x4.splat (local.get $bc2))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $step)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $next4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $outM) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $outV) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $outP) (local.get $o))
          (f32.sub
            (f32.mul (f32.load (i32.add (local.get $p) (local.get $o))) (local.get $decay))
            (f32.mul
              (f32.div (local.get $ms)
                (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $bc2)) (local.get $eps)))
              (local.get $step))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $next))))
)
