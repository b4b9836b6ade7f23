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

  ;; Batched matrix product: for s < batch, C_s = A_s · B_s with A_s m×k, B_s k×n, C_s m×n, all
  ;; row-major and each batch contiguous. Every C[i, j] = ((0 + A[i,0]·B[0,j]) + A[i,1]·B[1,j]) + …:
  ;; products added one by one in the order of p, no fused multiply-add. That is the order of
  ;; XNNPACK's f32 GEMM, so each batch's result is bit-identical to tf.matMul of that batch alone on
  ;; the wasm backend (a test checks), whatever the batch size. Tiles of 4 rows × 8 columns; the last
  ;; rows and columns are covered by tiles moved back to end at m and n (recomputing a few entries
  ;; with the same operations, so the same values); m < 4 or n < 4 takes the scalar loop.
  (func (export "matmul")
    (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $batch i32) (param $transA i32)
    (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $batch)))
        (call $matmul_one (local.get $a) (local.get $b) (local.get $c) (local.get $m) (local.get $k) (local.get $n) (local.get $transA))
        (local.set $a (i32.add (local.get $a) (i32.shl (i32.mul (local.get $m) (local.get $k)) (i32.const 2))))
        (local.set $b (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k) (local.get $n)) (i32.const 2))))
        (local.set $c (i32.add (local.get $c) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next))))

  (func $matmul_one (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $transA i32)
    (local $i i32) (local $r i32) (local $j i32) (local $lda i32) (local $ldb i32) (local $ra i32) (local $rc i32) (local $step i32)
    ;; op(A)[i, p] is at a + i·lda + p·step: A (m×k) has lda = 4k, step = 4; Aᵀ (A stored k×m) lda = 4, step = 4m
    (if (local.get $transA)
      (then
        (local.set $lda (i32.const 4))
        (local.set $step (i32.shl (local.get $m) (i32.const 2))))
      (else
        (local.set $lda (i32.shl (local.get $k) (i32.const 2)))
        (local.set $step (i32.const 4))))
    (if (i32.or (i32.lt_u (local.get $m) (i32.const 4)) (i32.lt_u (local.get $n) (i32.const 4)))
      (then
        (call $matmul_scalar (local.get $a) (local.get $b) (local.get $c) (local.get $m) (local.get $k) (local.get $n) (local.get $lda) (local.get $step))
        (return)))
    (local.set $ldb (i32.shl (local.get $n) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
        ;; the block of rows r..r+3, moved back to end at m
        (local.set $r (local.get $i))
        (if (i32.gt_u (local.get $r) (i32.sub (local.get $m) (i32.const 4)))
          (then (local.set $r (i32.sub (local.get $m) (i32.const 4)))))
        (local.set $ra (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $lda))))
        (local.set $rc (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldb))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
            (call $tile4x8 (local.get $ra) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
              (i32.add (local.get $rc) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $lda) (local.get $ldb) (local.get $step))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $n))
          (then
            (call $tile4x4 (local.get $ra) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
              (i32.add (local.get $rc) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $lda) (local.get $ldb) (local.get $step))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))))
        (if (i32.lt_u (local.get $j) (local.get $n))
          (then
            ;; the last 1-3 columns: a 4-column tile ending at n
            (local.set $j (i32.sub (local.get $n) (i32.const 4)))
            (call $tile4x4 (local.get $ra) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
              (i32.add (local.get $rc) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $lda) (local.get $ldb) (local.get $step))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; The same sums one entry at a time (small matrices).
  (func $matmul_scalar (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $lda i32) (param $step i32)
    (local $i i32) (local $j i32) (local $p i32) (local $s f32)
    (block $iDone
      (loop $iLoop
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
        (block $jDone
          (loop $jLoop
            (br_if $jDone (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $s (f32.const 0))
            (local.set $p (i32.const 0))
            (block $pDone
              (loop $pLoop
                (br_if $pDone (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $s (f32.add (local.get $s)
                  (f32.mul
                    (f32.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $i) (local.get $lda)) (i32.mul (local.get $p) (local.get $step)))))
                    (f32.load (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $n)) (local.get $j)) (i32.const 2)))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $pLoop)))
            (f32.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $s))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iLoop))))

  ;; C[0..4, 0..8) of one product: 4 rows of op(A) from $a ($lda bytes from a row to the next, $step
  ;; bytes from a term p to the next), B from $b (row stride $ldb bytes; also C's), k terms each,
  ;; added one by one in the order of p from 0.
  (func $tile4x8 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $lda i32) (param $ldb i32) (param $step i32)
    (local $end i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $va v128) (local $b0 v128) (local $b1 v128) (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $lda)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $lda)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $lda)))
    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $step))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $b0 (v128.load offset=0 (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $b1))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a1))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $b1))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a2))))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $b1))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a3))))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $b1))))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $step)))
        (local.set $a2 (i32.add (local.get $a2) (local.get $step)))
        (local.set $a3 (i32.add (local.get $a3) (local.get $step)))
        (br $next)))
    (v128.store offset=0 (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31))
  )

  ;; C[0..4, 0..4) of one product: as $tile4x8, four columns.
  (func $tile4x4 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $lda i32) (param $ldb i32) (param $step i32)
    (local $end i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $va v128) (local $b0 v128) (local $c00 v128) (local $c10 v128) (local $c20 v128) (local $c30 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $lda)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $lda)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $lda)))
    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $step))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $b0 (v128.load offset=0 (local.get $b)))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a1))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a2))))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $va (f32x4.splat (f32.load offset=0 (local.get $a3))))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $b0))))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $step)))
        (local.set $a2 (i32.add (local.get $a2) (local.get $step)))
        (local.set $a3 (i32.add (local.get $a3) (local.get $step)))
        (br $next)))
    (v128.store offset=0 (local.get $c) (local.get $c00))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c10))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c20))
    (local.set $c (i32.add (local.get $c) (local.get $ldb)))
    (v128.store offset=0 (local.get $c) (local.get $c30))
  )

  ;; Copies n bytes (a frozen run's state in a stacked AdamW step).
  (func (export "copy") (param $dst i32) (param $src i32) (param $n i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n)))

  ;; Batched transpose of the last two axes: y_s = x_sᵀ for s < batch, x_s r×c, y_s c×r (a copy).
  ;; Four rows of x at a time, so that y is written four contiguous values (one vector) at a time.
  (func (export "transpose_inner") (param $x i32) (param $y i32) (param $r i32) (param $c i32) (param $batch i32)
    (local $s i32) (local $i i32) (local $j i32) (local $rowBytes i32) (local $colBytes i32) (local $src i32) (local $dst i32) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $r) (i32.const 2)))
    (block $sDone
      (loop $sLoop
        (br_if $sDone (i32.ge_u (local.get $s) (local.get $batch)))
        (local.set $i (i32.const 0))
        ;; blocks of four rows i..i+3: y[j, i..i+3] = x[i..i+3, j]
        (block $iDone
          (loop $iLoop
            (br_if $iDone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $r)))
            (local.set $src (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
            (local.set $dst (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $jDone
              (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $c)))
                (local.set $v (f32x4.splat (f32.load (local.get $src))))
                (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load (i32.add (local.get $src) (local.get $rowBytes)))))
                (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load (i32.add (local.get $src) (i32.shl (local.get $rowBytes) (i32.const 1))))))
                (local.set $v (f32x4.replace_lane 3 (local.get $v) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 3))))))
                (v128.store (local.get $dst) (local.get $v))
                (local.set $src (i32.add (local.get $src) (i32.const 4)))
                (local.set $dst (i32.add (local.get $dst) (local.get $colBytes)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $iLoop)))
        ;; the last r mod 4 rows one value at a time
        (block $tDone
          (loop $tLoop
            (br_if $tDone (i32.ge_u (local.get $i) (local.get $r)))
            (local.set $src (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
            (local.set $dst (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $jDone2
              (loop $jLoop2
                (br_if $jDone2 (i32.ge_u (local.get $j) (local.get $c)))
                (f32.store (local.get $dst) (f32.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (i32.const 4)))
                (local.set $dst (i32.add (local.get $dst) (local.get $colBytes)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop2)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tLoop)))
        (local.set $x (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $y (i32.add (local.get $y) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $sLoop))))
)
