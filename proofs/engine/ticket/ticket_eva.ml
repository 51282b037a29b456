(* proofs/engine/ticket/ticket_eva.ml - loaded into Frama-C by
   proofs/engine/ticket/eva.sh (built there with ocamlopt -shared, run with
   -load-module). It changes no statement of the code analysed; it adds
   one partitioning hint for Eva, the annotation `split n;` at the entry
   of tern_reader_bytes (src/codec/wire.c), the call that copies a
   length-prefixed field (a PSK, a name, the ticket of a session blob).
   Each count of bytes is then its own case inside the call: Eva is not
   relational, and after one field of unknown length the cursor is an
   interval, so without the split it would lose that the bytes copied end
   inside the input (n <= len - pos) as soon as both n and pos are
   unknown. The cases are merged again when the call returns. *)

open Cil_types

let () =
  Ast.apply_after_computed (fun _ ->
      let kf = Globals.Functions.find_by_name "tern_reader_bytes" in
      let n =
        List.find (fun v -> v.vorig_name = "n") (Kernel_function.get_formals kf)
      in
      let stmt = Kernel_function.find_first_stmt kf in
      let loc = Cil_datatype.Stmt.loc stmt in
      let t = Logic_const.tvar ~loc (Cil.cvar_to_lvar n) in
      let ext = Logic_const.new_acsl_extension "split" loc false (Ext_terms [ t ]) in
      Annotations.add_code_annot Emitter.end_user ~kf stmt
        (Logic_const.new_code_annotation (AExtended ([], false, ext))))
