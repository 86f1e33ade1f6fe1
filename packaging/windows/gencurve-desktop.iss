; Inno Setup 6 script: turns dist\gencurve-desktop\ (built by `bash packaging/build.sh` in Git Bash) into
; dist\gencurve-desktop-<version>-<flavour>-setup.exe. From the repository root:
;   iscc /DAppVersion=0.1.0 /DFlavour=cu128 /DLarge packaging\windows\gencurve-desktop.iss
; /DLarge (the CUDA flavour, several GB) splits the installer into setup.exe + .bin files, because one
; setup.exe cannot hold more than about 2 GB. Per-user install by default (no administrator rights needed).
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif
#define Bundle "..\..\dist\gencurve-desktop"

[Setup]
AppId={{B7C1E5A2-4F0D-4C8E-9A51-6E3D2F7A9C14}
AppName=GenCurve Desktop
AppVersion={#AppVersion}
AppVerName=GenCurve Desktop {#AppVersion} ({#Flavour})
AppPublisher=GenCurve
DefaultDirName={autopf}\GenCurve Desktop
DefaultGroupName=GenCurve Desktop
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=gencurve-desktop-{#AppVersion}-{#Flavour}-setup
SetupIconFile=..\..\resources\icons\gencurve.ico
UninstallDisplayIcon={app}\gencurve-desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
#ifdef Large
DiskSpanning=yes
DiskSliceSize=max
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the gencurve command-line tool to PATH"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\GenCurve Desktop"; Filename: "{app}\gencurve-desktop.exe"
Name: "{autodesktop}\GenCurve Desktop"; Filename: "{app}\gencurve-desktop.exe"; Tasks: desktopicon

[Registry]
; HKA is HKLM for an all-users install and HKCU for a per-user one
Root: HKA; Subkey: "{code:EnvironmentKey}"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\gencurve-desktop.exe"; Description: "{cm:LaunchProgram,GenCurve Desktop}"; Flags: nowait postinstall skipifsilent

[Code]
function EnvironmentKey(Param: string): string;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

function EnvironmentRoot: Integer;
begin
  if IsAdminInstallMode then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey(''), 'Path', Path) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Entry: string;
  P: Integer;
begin
  if CurUninstallStep <> usPostUninstall then exit;
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey(''), 'Path', Path) then exit;
  Entry := ';' + ExpandConstant('{app}');
  P := Pos(Uppercase(Entry), Uppercase(Path));
  if P > 0 then
  begin
    Delete(Path, P, Length(Entry));
    RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey(''), 'Path', Path);
  end;
end;
