(* proofs/codec/msg/msg_eva.ml - loaded into Frama-C by proofs/codec/msg/eva.sh
   (compiled there with ocamlopt -shared, run with -load-module). It adds
   nothing to the code analysed and changes no statement:

   1. A partitioning hint for Eva, the annotation `split n;` at the entry
      of vec_split (src/codec/wire.c), the one place where every length-prefixed
      vector becomes a child reader. Each vector length is then its own
      case (kept across returns by -eva-interprocedural-splits), so the
      offset and the length of every child reader stay exact; Eva is not
      relational, and without it would lose that a child ends inside its
      parent as soon as two lengths are unknown at once. The annotation
      is added to the AST here rather than written in src/codec/wire.c.

   2. Coverage: when MSG_EVA_COVERAGE names a file, after the analysis it
      gets one line per statement of src/codec/msg.c,
        "<function> <index> <0|1> <line> <code|container> <statement>"
      (1 when Eva reached it; the statement as Frama-C prints it, cut to
      60 characters), so that the script can add up what the separate runs
      reached and list what none did. *)

open Cil_types

(* The formal is looked up by its name in the source: Frama-C may rename
   it when linking (a global of another file with the same name). *)
let split_at_entry fname vname =
  let kf = Globals.Functions.find_by_name fname in
  let vi =
    List.find
      (fun v -> v.vorig_name = vname)
      (Kernel_function.get_formals kf)
  in
  let stmt = Kernel_function.find_first_stmt kf in
  let is_split = function
    | { annot_content = AExtended (_, _, { ext_name = "split"; _ }); _ } ->
      true
    | _ -> false
  in
  if not (List.exists is_split (Annotations.code_annot stmt)) then begin
    let loc = Cil_datatype.Stmt.loc stmt in
    let t = Logic_const.tvar ~loc (Cil.cvar_to_lvar vi) in
    let ext =
      Logic_const.new_acsl_extension "split" loc false (Ext_terms [t])
    in
    Annotations.add_code_annot Emitter.end_user ~kf stmt
      (Logic_const.new_code_annotation (AExtended ([], false, ext)))
  end

let () = Ast.apply_after_computed (fun _ -> split_at_entry "vec_split" "n")

let in_msg_c kf =
  let pos, _ = Kernel_function.get_location kf in
  Filename.basename (Filepath.Normalized.to_pretty_string pos.Filepath.pos_path)
  = "msg.c"

(* A block (or an unspecified sequence) only holds other statements: its
   kind is "container", that of any other statement "code". Eva may reach
   the statements of a block without the block itself, when it enters the
   block through a label inside (the `case` of a switch whose arm Frama-C
   made a block), so containers are not counted. *)
let kind s =
  match s.skind with
  | Block _ | UnspecifiedSequence _ -> "container"
  | _ -> "code"

let dump_coverage path =
  let oc = open_out path in
  Globals.Functions.iter (fun kf ->
      if Kernel_function.is_definition kf && in_msg_c kf then begin
        let f = Kernel_function.get_definition kf in
        List.iteri
          (fun i s ->
            let pos, _ = Cil_datatype.Stmt.loc s in
            let text =
              Format.asprintf "%a" Printer.pp_stmt s
              |> String.map (fun ch -> if ch = '\n' || ch = '\t' then ' ' else ch)
            in
            let text =
              if String.length text > 60 then String.sub text 0 60 else text
            in
            Printf.fprintf oc "%s %d %d %d %s %s\n" f.svar.vname i
              (if Db.Value.is_reachable_stmt s then 1 else 0)
              pos.Filepath.pos_lnum (kind s) text)
          f.sallstmts
      end);
  close_out oc

let () =
  Db.Main.extend (fun () ->
      match Sys.getenv_opt "MSG_EVA_COVERAGE" with
      | Some path when Db.Value.is_computed () -> dump_coverage path
      | _ -> ())
